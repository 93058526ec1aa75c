package dev.c2w.converter.pack;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/**
 * Where the prebuilt guest parts are: the directory guest/dist.sh fills (emulator wasm, kernel Image,
 * init, guest.properties). Found from {@code --guest DIR}, else {@code C2W_GUEST}, else
 * guest/build/dist of the source tree the c2w jar was built in.
 */
public record GuestParts(Path dir, Path emulator, Path kernel, Path init, Properties versions) {
    public static GuestParts locate(Path explicit) throws IOException {
        Path dir = explicit;
        if (dir == null && System.getenv("C2W_GUEST") != null) dir = Path.of(System.getenv("C2W_GUEST"));
        if (dir == null) dir = besideJar();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new IOException(
                    "no guest parts found" + (dir == null ? "" : " at " + dir)
                            + "; build them with guest/dist.sh (the ./c2w launcher does this on first use) or pass --guest DIR");
        }
        Path emu = dir.resolve("c2w-emu.wasm"), kernel = dir.resolve("Image"), init = dir.resolve("init");
        for (Path p : new Path[] {emu, kernel, init}) {
            if (!Files.isRegularFile(p)) {
                throw new IOException("guest part missing: " + p + "; rebuild with guest/dist.sh");
            }
        }
        Properties props = new Properties();
        Path pp = dir.resolve("guest.properties");
        if (Files.isRegularFile(pp)) {
            try (InputStream in = Files.newInputStream(pp)) {
                props.load(in);
            }
        }
        return new GuestParts(dir, emu, kernel, init, props);
    }

    private static Path besideJar() {
        try {
            Path jar = Path.of(GuestParts.class
                    .getProtectionDomain()
                    .getCodeSource()
                    .getLocation()
                    .toURI());
            // converter/target/c2w.jar or converter/target/classes -> <repo>/guest/build/dist
            Path repo = jar.getParent() == null ? null : jar.getParent().getParent();
            if (repo != null) repo = repo.getParent();
            return repo == null ? null : repo.resolve("guest/build/dist");
        } catch (URISyntaxException | SecurityException | NullPointerException e) {
            return null;
        }
    }

    /** A short description for --print-guest and the manifest. */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        sb.append("guest parts in ").append(dir).append('\n');
        sb.append("  emulator  ").append(emulator).append(size(emulator)).append('\n');
        sb.append("            sha256 ")
                .append(versions.getProperty("emulator.sha256", "?"))
                .append('\n');
        sb.append("  kernel    ").append(kernel).append(size(kernel)).append('\n');
        sb.append("            Linux ")
                .append(versions.getProperty("kernel.version", "?"))
                .append('\n');
        sb.append("            sha256 ")
                .append(versions.getProperty("kernel.sha256", "?"))
                .append('\n');
        sb.append("  init      ").append(init).append(size(init)).append('\n');
        sb.append("            sha256 ")
                .append(versions.getProperty("init.sha256", "?"))
                .append('\n');
        sb.append("  built from commit ")
                .append(versions.getProperty("commit", "?"))
                .append('\n');
        return sb.toString();
    }

    private static String size(Path p) {
        try {
            return String.format(" (%,d bytes)", Files.size(p));
        } catch (IOException e) {
            return "";
        }
    }
}
