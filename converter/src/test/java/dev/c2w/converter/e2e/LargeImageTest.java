package dev.c2w.converter.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.c2w.converter.Converter;
import dev.c2w.converter.ProgressSink;
import dev.c2w.converter.testing.Proc;
import dev.c2w.converter.testing.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A ~300 MB image converts into one module and runs on the JVM runner and under Node: the root
 * filesystem is served from the module's data (one copy), and the guest reads all of it back with
 * matching checksums (every file hashed under Node; every byte read and spread samples hashed on the
 * runner).
 */
@Tag("guest")
class LargeImageTest {
    static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();

    @Test
    void aThreeHundredMegabyteImageConvertsAndRunsOnTheRunnerAndUnderNode() throws Exception {
        Path work = Files.createDirectories(ROOT.resolve("converter/target/e2e-large"));
        Proc.Result dist = Proc.run(
                Duration.ofMinutes(20),
                List.of(
                        ROOT.resolve("guest/dist.sh").toString(),
                        ROOT.resolve("converter/target/e2e/guest").toString()));
        assertThat(dist.exit()).as(dist.output()).isZero();
        Path out = work.resolve("large.wasm");
        new Converter(
                        new Converter.Options(
                                "oci:" + TestImages.get().large() + ":1",
                                out,
                                "riscv64",
                                List.of(),
                                null,
                                256,
                                "c2w",
                                ROOT.resolve("converter/target/e2e/guest"),
                                null),
                        ProgressSink.SILENT)
                .run();
        assertThat(Files.size(out)).isGreaterThan(280L << 20);

        // Under Node (V8 runs the emulator about 8x faster than the JVM runner) the guest hashes every file.
        String fullCheck = "cd /large && n=$(wc -l < SHA256SUMS) && ok=$(sha256sum -c SHA256SUMS | grep -c ': OK$')"
                + " && [ $n -gt 0 ] && [ $n = $ok ] && echo all-$ok-files-ok";
        // On the runner, hashing 280 MiB in the emulated guest takes minutes: the guest reads every byte
        // (cat) and hashes a first, a middle and the last MiB of each file against SAMPLES.
        String sampledCheck = "cd /large && cat data-*.bin > /dev/null && n=0 && while read k name sum; do"
                + " got=$(dd if=$name bs=1048576 skip=$k count=1 2>/dev/null | sha256sum | cut -d' ' -f1);"
                + " [ \"$got\" = \"$sum\" ] || { echo \"mismatch in $name at MiB $k\"; exit 1; }; n=$((n+1)); done < SAMPLES"
                + " && [ $n -gt 0 ] && echo all-$n-samples-ok";
        List<String> runner = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:-DontCompileHugeMethods",
                "-cp",
                System.getProperty("java.class.path"),
                "dev.c2w.cli.C2wNet",
                "--dns-upstream",
                "127.0.0.1:9",
                "--invoke",
                out.toString(),
                "sh",
                "-c",
                sampledCheck));
        Proc.Result r = Proc.run(Duration.ofMinutes(10), runner);
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(r.output().replace("\r", "")).containsPattern("(?m)^all-12-samples-ok$");

        Files.createDirectories(work.resolve("empty"));
        Proc.Result n = Proc.run(
                Duration.ofMinutes(10),
                List.of(
                        "node",
                        "--no-warnings",
                        ROOT.resolve("guest/emulator/tools/run-node.mjs").toString(),
                        "--preopen",
                        work.resolve("empty") + "::/c2w-empty",
                        out.toString(),
                        "sh",
                        "-c",
                        fullCheck));
        assertThat(n.exit()).as(n.output()).isZero();
        assertThat(n.output().replace("\r", "")).containsPattern("(?m)^all-4-files-ok$");
    }
}
