package dev.c2w.converter.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.c2w.converter.pack.ModulePacker;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code c2w inspect out.wasm}: what a converted module holds. */
@Command(
        name = "inspect",
        mixinStandardHelpOptions = true,
        description =
                "Prints what a converted module holds: the image (reference, digest, config), the size of each part and the guest versions.")
final class Inspect implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODULE")
    Path module;

    @Option(names = "--json", description = "print the manifest as JSON")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (!Files.isRegularFile(module)) {
            System.err.println("c2w inspect: no such file: " + module);
            return 1;
        }
        byte[] bytes = Files.readAllBytes(module);
        byte[] manifest;
        long[] bundle;
        try {
            manifest = ModulePacker.readManifest(bytes);
            bundle = ModulePacker.readBundle(bytes);
        } catch (IllegalArgumentException e) {
            System.err.println("c2w inspect: " + module + " is not a module written by c2w (" + e.getMessage() + ")");
            return 1;
        }
        if (manifest == null) {
            System.err.println("c2w inspect: " + module + " has no c2w manifest (not a converted module)");
            return 1;
        }
        ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        JsonNode m = om.readTree(manifest);
        if (json) {
            System.out.println(om.writeValueAsString(m));
            return 0;
        }
        StringBuilder sb = new StringBuilder();
        sb.append(module).append(String.format(": %,d bytes%n", bytes.length));
        sb.append("image      ")
                .append(m.path("image").path("reference").asText())
                .append('\n');
        sb.append("digest     ").append(m.path("image").path("digest").asText()).append('\n');
        sb.append("platform   ")
                .append(m.path("image").path("platform").asText())
                .append('\n');
        JsonNode c = m.path("config");
        sb.append("entrypoint ").append(c.path("entrypoint")).append('\n');
        sb.append("cmd        ").append(c.path("cmd")).append('\n');
        sb.append("env        ").append(c.path("env")).append('\n');
        sb.append("workdir    ").append(c.path("workingDir").asText("/")).append('\n');
        sb.append("user       ")
                .append(c.path("user").asText(""))
                .append(" -> ")
                .append(c.path("resolvedUser").asText())
                .append('\n');
        sb.append("ports      ").append(c.path("exposedPorts")).append('\n');
        sb.append(String.format("kernel     %,d bytes at 0x%x%n", bundle[1], bundle[0]));
        sb.append(String.format("initramfs  %,d bytes at 0x%x%n", bundle[3], bundle[2]));
        if ((bundle[6] & 1) != 0) {
            sb.append("rootfs     external: ")
                    .append(m.path("rootfs").path("external").asText())
                    .append(String.format(
                            " (%,d bytes when written)%n",
                            m.path("rootfs").path("size").asLong()));
        } else {
            sb.append(String.format(
                    "rootfs     %,d bytes of erofs at 0x%x (%d files)%n",
                    bundle[5], bundle[4], m.path("rootfs").path("files").asLong()));
        }
        sb.append("guest RAM  ").append(bundle[7] == 0 ? 256 : bundle[7]).append(" MiB\n");
        JsonNode g = m.path("guest");
        sb.append("guest      emulator ")
                .append(g.path("emulator.sha256").asText())
                .append('\n');
        sb.append("           kernel Linux ")
                .append(g.path("kernel.version").asText())
                .append('\n');
        sb.append("           init ").append(g.path("init.sha256").asText()).append('\n');
        sb.append("           commit ").append(g.path("commit").asText()).append('\n');
        sb.append("converted  ")
                .append(m.path("created").asText())
                .append(" by ")
                .append(m.path("converter").asText())
                .append('\n');
        System.out.print(sb);
        return 0;
    }
}
