package dev.c2w.converter.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.c2w.converter.Converter;
import dev.c2w.converter.ProgressSink;
import dev.c2w.converter.testing.LocalRegistry;
import dev.c2w.converter.testing.Proc;
import dev.c2w.converter.testing.TestImages;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * From an image in a real local registry (Debian's docker-registry on 127.0.0.1), a docker-archive and
 * an OCI layout to a container running in the JVM (c2w-net --invoke, a child JVM) and under Node: what
 * a user does with one c2w and one c2w-net command. The guest parts are this repository's own build
 * (guest/dist.sh, cached).
 */
@Tag("guest")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConvertAndRunTest {
  static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
  static final Duration RUN = Duration.ofSeconds(240);

  Path work;
  Path guest;
  TestImages images;
  LocalRegistry registry;
  Path busyboxFromRegistry, busyboxFromArchive, busyboxFromOci, layered;
  HttpServer http;
  byte[] blob;

  @BeforeAll
  void convertAll() throws Exception {
    work = Files.createDirectories(ROOT.resolve("converter/target/e2e"));
    Proc.Result dist = Proc.run(Duration.ofMinutes(20), List.of(ROOT.resolve("guest/dist.sh").toString(),
        work.resolve("guest").toString()));
    assertThat(dist.exit()).as("guest/dist.sh:\n%s", dist.output()).isZero();
    guest = work.resolve("guest");
    images = TestImages.get();
    registry = LocalRegistry.start();
    registry.push(images.busybox(), "1", "c2w/busybox:1");
    registry.push(images.layered(), "1", "c2w/layered:1");

    busyboxFromRegistry = convert(registry.host() + "/c2w/busybox:1", "busybox-registry.wasm");
    busyboxFromArchive = convert("docker-archive:" + images.busyboxArchive(), "busybox-archive.wasm");
    busyboxFromOci = convert("oci:" + images.busybox() + ":1", "busybox-oci.wasm");
    layered = convert(registry.host() + "/c2w/layered:1", "layered.wasm");

    blob = new byte[3 << 20];
    new Random(7).nextBytes(blob);
    http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4);
    http.createContext("/blob", ex -> {
      try (ex) {
        ex.sendResponseHeaders(200, blob.length);
        try (OutputStream o = ex.getResponseBody()) {
          o.write(blob);
        }
      }
    });
    http.start();
  }

  @AfterAll
  void stop() throws Exception {
    if (http != null) http.stop(0);
    if (registry != null) registry.close();
  }

  Path convert(String image, String name) throws Exception {
    Path out = work.resolve(name);
    Files.deleteIfExists(out);
    new Converter(new Converter.Options(image, out, "riscv64", List.of(), null, 256, "c2w", guest, null),
        ProgressSink.SILENT).run();
    assertThat(out).isRegularFile();
    return out;
  }

  /** c2w-net --invoke in a child JVM built from this test's class path (the runner module). */
  Proc.Result invoke(List<String> flags, Path module, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-XX:-DontCompileHugeMethods", "-cp", System.getProperty("java.class.path"), "dev.c2w.runner.cli.C2wNet",
        "--dns-upstream", "127.0.0.1:9"));
    cmd.addAll(flags);
    cmd.add("--invoke");
    cmd.add(module.toString());
    cmd.addAll(List.of(args));
    return Proc.run(RUN, cmd);
  }

  Proc.Result node(Path module, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("node", "--no-warnings",
        ROOT.resolve("guest/emulator/tools/run-node.mjs").toString(), "--preopen", work.resolve("empty") + "::/c2w-empty",
        module.toString()));
    cmd.addAll(List.of(args));
    return Proc.run(RUN, cmd);
  }

  static String lines(Proc.Result r) {
    return r.output().replace("\r", "");
  }

  @Test
  void echoHelloFromEverySource() throws Exception {
    for (Path m : List.of(busyboxFromRegistry, busyboxFromArchive, busyboxFromOci)) {
      Proc.Result r = invoke(List.of(), m, "echo", "hello");
      assertThat(r.exit()).as("%s: %s", m, r.output()).isZero();
      assertThat(lines(r)).as("%s", m).containsPattern("(?m)^hello$");
    }
  }

  @Test
  void theCommandsExitStatusIsTheModulesExitStatus() throws Exception {
    Proc.Result r = invoke(List.of(), busyboxFromRegistry, "sh", "-c", "exit 7");
    assertThat(r.exit()).as(r.output()).isEqualTo(7);
  }

  @Test
  void aMappedDirectoryIsVisibleAndWritable() throws Exception {
    Path dir = Files.createDirectories(work.resolve("mapped"));
    Files.writeString(dir.resolve("in.txt"), "from-the-host\n");
    Files.deleteIfExists(dir.resolve("out.txt"));
    Proc.Result r = invoke(List.of("--dir", dir + "::/mnt/data"), busyboxFromRegistry,
        "sh", "-c", "cat /mnt/data/in.txt; echo from-the-guest > /mnt/data/out.txt");
    assertThat(r.exit()).as(r.output()).isZero();
    assertThat(lines(r)).contains("from-the-host");
    assertThat(Files.readString(dir.resolve("out.txt"))).isEqualTo("from-the-guest\n");
  }

  @Test
  void runTimeEnvAndTheImagesEnvReachTheCommand() throws Exception {
    Proc.Result r = invoke(List.of("--env", "RUN_VAR=given at run time"), busyboxFromRegistry,
        "sh", "-c", "echo \"[$RUN_VAR] [$IMAGE_VAR] [$PATH]\"");
    assertThat(r.exit()).as(r.output()).isZero();
    assertThat(lines(r)).contains("[given at run time] [from-image] [/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin]");
  }

  @Test
  void theImagesDefaultCommandRunsWhenNoneIsGiven() throws Exception {
    Proc.Result r = invoke(List.of(), busyboxFromRegistry);
    assertThat(r.exit()).as(r.output()).isZero();
    assertThat(lines(r)).containsPattern("(?m)^default-cmd-ran$");
  }

  @Test
  void downloadsFromAHostServerThrough192_168_127_254() throws Exception {
    String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(blob));
    int port = http.getAddress().getPort();
    Proc.Result r = invoke(List.of(), busyboxFromRegistry, "sh", "-c",
        "wget -q -O - http://192.168.127.254:" + port + "/blob | sha256sum; cat /etc/resolv.conf; hostname");
    assertThat(r.exit()).as(r.output()).isZero();
    assertThat(lines(r)).contains(sha).contains("nameserver 192.168.127.1").containsPattern("(?m)^c2w$");
  }

  @Test
  void theLayeredImageHasItsWhiteoutsHardLinksUserAndWorkdir() throws Exception {
    Proc.Result r = invoke(List.of(), layered);
    assertThat(r.exit()).as(r.output()).isZero();
    assertThat(lines(r)).containsPattern("(?m)^layered-default$").containsPattern("(?m)^1000$")
        .containsPattern("(?m)^/home/app$");
    r = invoke(List.of(), layered, "test ! -e /data/gone.txt && test -e /data/keep.txt && ls /opt/dir"
        + " && test /opt/big.bin -ef /opt/hard.bin && echo checks-passed; id -G; echo $HOME; echo $LAYER_VAR");
    assertThat(r.exit()).as(r.output()).isZero();
    assertThat(lines(r)).containsPattern("(?m)^b.txt$").doesNotContainPattern("(?m)^a.txt$")
        .contains("checks-passed").containsPattern("(?m)^1000 2000$").containsPattern("(?m)^/home/app$")
        .containsPattern("(?m)^3$");
  }

  @Test
  void theSameModuleRunsUnderNode() throws Exception {
    Files.createDirectories(work.resolve("empty"));
    Proc.Result r = node(busyboxFromRegistry, "echo", "hello");
    assertThat(r.exit()).as(r.output()).isZero();
    assertThat(lines(r)).containsPattern("(?m)^hello$");
  }

  @Test
  void inspectSaysWhatIsInside() throws Exception {
    java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
    java.io.PrintStream old = System.out;
    System.setOut(new java.io.PrintStream(buf, true, StandardCharsets.UTF_8));
    int rc;
    try {
      rc = new picocli.CommandLine(new dev.c2w.converter.cli.C2w()).execute("inspect", busyboxFromRegistry.toString());
    } finally {
      System.setOut(old);
    }
    String s = buf.toString(StandardCharsets.UTF_8);
    assertThat(rc).as(s).isZero();
    assertThat(s).contains("c2w/busybox:1").contains("sha256:").contains("erofs").contains("Linux 6.1");
  }
}
