package dev.c2w.converter.cli;

import dev.c2w.converter.Converter;
import dev.c2w.converter.pack.GuestParts;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The {@code c2w} command: converts a container image into one WASI module. */
@Command(
        name = "c2w",
        mixinStandardHelpOptions = true,
        versionProvider = C2w.Version.class,
        sortOptions = false,
        subcommands = {Inspect.class},
        usageHelpAutoWidth = true,
        description = {
            "Converts a container image into one WebAssembly (WASI) module that boots it on an emulated",
            "RISC-V machine: run it with `c2w-net --invoke OUT`, `wasmtime OUT`, Node's node:wasi or a browser.",
            "No Docker daemon is needed: the image is read from a registry, a `docker save` archive or an",
            "OCI layout, and packed with this repository's prebuilt guest (emulator, Linux kernel, init).",
            ""
        },
        footer = {
            "",
            "IMAGE forms:",
            "  alpine:3.20, user/app:tag           Docker Hub (registry-1.docker.io)",
            "  HOST[:PORT]/NAME[:TAG|@sha256:...]  any registry; 127.0.0.1/localhost use plain HTTP",
            "  docker-archive:PATH.tar             what `docker save` writes",
            "  oci:DIR[:TAG]                       an OCI image layout (skopeo, buildah, umoci)",
            "",
            "Running the module (upstream c2w's flags):",
            "  OUT [--entrypoint CMD] [--no-stdin] [--net=socket[=listenfd=N]] [--mac MAC] [COMMAND] [ARG...]",
            "  c2w-net --invoke out.wasm sh -c 'echo hello'      (networked, in the JVM)",
            "  wasmtime --dir /host/dir::/data out.wasm ls /data  (pre-opened dirs appear at their guest paths)",
            "",
            "Examples:",
            "  c2w 127.0.0.1:5000/busybox:1 busybox.wasm",
            "  c2w --external-bundle bundle/ oci:./layout:1 app.wasm  && c2w-net --invoke app.wasm --dir bundle::/pack",
            "  c2w inspect busybox.wasm"
        })
public final class C2w implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", paramLabel = "IMAGE", description = "the image to convert (forms below)")
    String image;

    @Parameters(
            index = "1",
            arity = "0..1",
            paramLabel = "OUT",
            description = "the module to write (default: out.wasm)")
    Path out;

    @Option(
            names = "--target-arch",
            paramLabel = "ARCH",
            defaultValue = "riscv64",
            description =
                    "platform to pick from a multi-platform image (default: ${DEFAULT-VALUE}, the only one the guest runs)")
    String targetArch;

    @Option(
            names = "--insecure-registry",
            paramLabel = "HOST[:PORT]",
            description = "use plain HTTP (or unverified TLS) for this registry; repeatable (loopback needs no flag)")
    List<String> insecureRegistries = new ArrayList<>();

    @Option(
            names = "--external-bundle",
            paramLabel = "DIR",
            description =
                    "write the root filesystem to DIR/rootfs.erofs instead of into the module; run with DIR pre-opened at /pack")
    Path externalBundle;

    @Option(
            names = "--memory",
            paramLabel = "MiB",
            defaultValue = "256",
            description = "guest RAM of the module (default: ${DEFAULT-VALUE})")
    int memoryMib;

    @Option(
            names = "--hostname",
            paramLabel = "NAME",
            defaultValue = "c2w",
            description = "the container's hostname (default: ${DEFAULT-VALUE})")
    String hostname;

    @Option(
            names = "--guest",
            paramLabel = "DIR",
            description =
                    "guest parts to pack (default: what guest/dist.sh built; the ./c2w launcher builds it on first use)")
    Path guestDir;

    @Option(
            names = "--temp-dir",
            paramLabel = "DIR",
            description = "where to keep the filesystem while it is built (default: next to OUT)")
    Path tempDir;

    @Option(
            names = {"-q", "--quiet"},
            description = "print only errors")
    boolean quiet;

    @Option(
            names = "--print-guest",
            description = "print where the guest parts are and which versions they are, then exit")
    boolean printGuest;

    // Upstream c2w's flags that do not apply here: accepted, and refused with what to do instead.
    @Option(names = "--build-arg", hidden = true)
    List<String> buildArgs;

    @Option(names = "--dockerfile", hidden = true)
    String dockerfile;

    @Option(names = "--assets", hidden = true)
    String assets;

    @Option(names = "--target-stage", hidden = true)
    String targetStage;

    @Option(names = "--to-js", hidden = true)
    boolean toJs;

    @Override
    public Integer call() throws Exception {
        PrintStream err = System.err;
        String refusal = refusedUpstreamFlag();
        if (refusal != null) {
            err.println("c2w: " + refusal);
            return 2;
        }
        if (printGuest) {
            System.out.print(GuestParts.locate(guestDir).describe());
            return 0;
        }
        if (image == null) {
            err.println("c2w: IMAGE is missing (for example: c2w alpine:3.20 out.wasm; see c2w --help)");
            return 2;
        }
        if (memoryMib < 64 || memoryMib > 2048) {
            err.println("c2w: --memory must be between 64 and 2048 MiB");
            return 2;
        }
        Converter.Options o = new Converter.Options(
                image,
                out == null ? Path.of("out.wasm") : out,
                targetArch,
                insecureRegistries,
                externalBundle,
                memoryMib,
                hostname,
                guestDir,
                tempDir);
        Progress progress = new Progress(err, Progress.detect(quiet));
        try {
            new Converter(o, progress).run();
            return 0;
        } catch (Converter.ConversionException e) {
            err.println("c2w: " + e.getMessage());
            return 1;
        }
    }

    private String refusedUpstreamFlag() {
        String build = " c2w-java converts an image that is already built: build it with any tool (docker build, "
                + "buildah, kaniko) for linux/riscv64, push it to a registry or save it (docker save / an OCI layout), "
                + "then run c2w on that.";
        if (buildArgs != null) return "--build-arg is not implemented (there is no Dockerfile build)." + build;
        if (dockerfile != null) return "--dockerfile is not implemented (there is no Dockerfile build)." + build;
        if (targetStage != null) return "--target-stage is not implemented (there is no Dockerfile build)." + build;
        if (assets != null) {
            return "--assets is not implemented: the guest parts come from this repository's build (guest/dist.sh); "
                    + "use --guest DIR to pack parts built elsewhere.";
        }
        if (toJs) {
            return "--to-js is not implemented: the .wasm module runs in browsers as it is (see web/page/ and "
                    + "`c2w-net --listen-ws` for networking); no JavaScript bundle is needed.";
        }
        return null;
    }

    public static void main(String[] args) {
        CommandLine cl = new CommandLine(new C2w());
        cl.setExecutionExceptionHandler((ex, cmd, parse) -> {
            cmd.getErr().println("c2w: " + (ex.getMessage() != null ? ex.getMessage() : ex.toString()));
            if (System.getenv("C2W_DEBUG") != null) ex.printStackTrace(cmd.getErr());
            return 1;
        });
        System.exit(cl.execute(args));
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = C2w.class.getPackage().getImplementationVersion();
            return new String[] {"c2w (c2w-java) " + (v == null ? "0.1.0-SNAPSHOT" : v)};
        }
    }
}
