package dev.c2w.converter;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.c2w.converter.erofs.ErofsWriter;
import dev.c2w.converter.fs.FsNode;
import dev.c2w.converter.fs.FsTree;
import dev.c2w.converter.image.ImageConfig;
import dev.c2w.converter.image.ImageReference;
import dev.c2w.converter.image.ImageSource;
import dev.c2w.converter.image.Layer;
import dev.c2w.converter.image.Platform;
import dev.c2w.converter.image.ProgressListener;
import dev.c2w.converter.image.RegistryOptions;
import dev.c2w.converter.image.ResolvedImage;
import dev.c2w.converter.layer.LayerApplier;
import dev.c2w.converter.layer.LayerException;
import dev.c2w.converter.pack.GuestParts;
import dev.c2w.converter.pack.ImageConf;
import dev.c2w.converter.pack.Initramfs;
import dev.c2w.converter.pack.ModulePacker;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * One conversion, start to end: resolve the image, apply its layers onto an in-memory tree (contents
 * in a temporary file), write the tree as erofs, build the initramfs with the run configuration, and
 * pack everything into a copy of the emulator module. Temporary files are removed whatever happens;
 * OUT is only replaced when everything succeeded.
 */
public final class Converter {
    /** The kernel command line of converted modules. */
    public static final String CMDLINE = "console=hvc0 quiet";

    public static final String EXTERNAL_NAME = "rootfs.erofs";

    public record Options(
            String image,
            Path out,
            String arch,
            List<String> insecureRegistries,
            Path externalBundle,
            int memoryMib,
            String hostname,
            Path guestDir,
            Path tempDir) {}

    /** A conversion that failed for a reason the user can act on (message says what and what to do). */
    public static final class ConversionException extends Exception {
        private static final long serialVersionUID = 1L;

        public ConversionException(String msg, Throwable cause) {
            super(msg, cause);
        }
    }

    private final Options o;
    private final ProgressSink progress;

    public Converter(Options o, ProgressSink progress) {
        this.o = o;
        this.progress = progress;
    }

    /** Runs the conversion; returns the packed layout. */
    public ModulePacker.Layout run() throws ConversionException {
        long t0 = System.nanoTime();
        GuestParts guest;
        try {
            guest = GuestParts.locate(o.guestDir());
        } catch (IOException e) {
            throw new ConversionException(e.getMessage(), e);
        }
        ImageReference ref;
        try {
            ref = ImageReference.parse(o.image());
        } catch (IllegalArgumentException e) {
            throw new ConversionException(e.getMessage(), e);
        }
        Path outDir = o.out().toAbsolutePath().getParent();
        Path temp = o.tempDir() != null ? o.tempDir() : outDir;
        try {
            Files.createDirectories(temp);
        } catch (IOException e) {
            throw new ConversionException("cannot create " + temp + ": " + e.getMessage(), e);
        }
        Path erofs = null;
        try (FsTree tree = FsTree.create(temp)) {
            progress.info("c2w: resolving " + ref + " for linux/" + o.arch());
            RegistryOptions ro = RegistryOptions.defaults()
                    .withInsecureRegistries(new LinkedHashSet<>(o.insecureRegistries()))
                    .withLog(progress::info);
            try (ResolvedImage img = resolve(ref, ro)) {
                String digest = img.manifestDigest() != null ? img.manifestDigest() : img.configDigest();
                progress.info("c2w: " + img.reference() + " " + digest + ", "
                        + img.layers().size() + " layer(s)");
                int k = 0;
                for (Layer layer : img.layers()) {
                    k++;
                    String name = String.format("%d/%d %s", k, img.layers().size(), shortDigest(layer.digest()));
                    String label = "layer " + name;
                    progress.start(label, layer.size());
                    long[] done = {0};
                    ProgressListener pl = new ProgressListener() {
                        @Override
                        public void bytes(String d, long n) {
                            done[0] += n;
                            progress.update(done[0]);
                        }
                    };
                    try (InputStream in = layer.open(pl)) {
                        try {
                            LayerApplier.apply(tree, in, name); // its errors begin with "layer " + name
                        } catch (IOException | RuntimeException e) {
                            throw layerFailed(label, layer, in, e);
                        }
                    } catch (IOException e) {
                        throw new ConversionException(label + " (" + layer.digest() + "): " + e.getMessage(), e);
                    }
                    progress.done(layer.size(), null);
                }
                ImageConfig cfg = img.config();
                ImageConf.User user;
                try {
                    user = ImageConf.resolveUser(cfg.user(), tree);
                } catch (IllegalArgumentException e) {
                    throw new ConversionException(e.getMessage(), e);
                }
                byte[] conf =
                        ImageConf.build(cfg.entrypoint(), cfg.cmd(), cfg.env(), cfg.workingDir(), user, o.hostname());
                byte[] initrd = Initramfs.build(Files.readAllBytes(guest.init()), conf, 0);

                erofs = Files.createTempFile(temp, ".c2w-rootfs", ".erofs");
                long files = countInodes(tree.root());
                progress.start(
                        "rootfs (erofs, " + files + " inodes)", tree.data().size());
                long rootfsSize = ErofsWriter.write(tree, erofs, progress::update);
                progress.done(rootfsSize, ProgressSink.bytes(rootfsSize));

                Path rootfsForModule = erofs;
                if (o.externalBundle() != null) {
                    Files.createDirectories(o.externalBundle());
                    Path dest = o.externalBundle().resolve(EXTERNAL_NAME);
                    if (Files.getFileStore(erofs).supportsFileAttributeView("posix")) {
                        Files.setPosixFilePermissions(erofs, PosixFilePermissions.fromString("rw-r--r--"));
                    }
                    move(erofs, dest);
                    erofs = null;
                    rootfsForModule = null;
                    progress.info("c2w: root filesystem written to " + dest
                            + " (run with that directory pre-opened at /pack)");
                }
                byte[] manifest = manifest(img, digest, user, guest, rootfsSize, files);
                progress.start("packing " + o.out(), Files.size(guest.kernel()) + initrd.length + rootfsSize);
                ModulePacker.Layout layout = ModulePacker.pack(
                        Files.readAllBytes(guest.emulator()),
                        new ModulePacker.Parts(
                                guest.kernel(),
                                initrd,
                                rootfsForModule,
                                CMDLINE,
                                o.externalBundle() != null ? EXTERNAL_NAME : null,
                                o.memoryMib(),
                                manifest),
                        o.out(),
                        progress::update);
                progress.done(layout.outputSize(), ProgressSink.bytes(layout.outputSize()));
                progress.info(String.format(
                        "c2w: wrote %s (%s: kernel %s, initramfs %s, rootfs %s) in %.1f s",
                        o.out(),
                        ProgressSink.bytes(layout.outputSize()),
                        ProgressSink.bytes(layout.kernelSize()),
                        ProgressSink.bytes(layout.initrdSize()),
                        o.externalBundle() != null ? "external" : ProgressSink.bytes(layout.rootfsSize()),
                        (System.nanoTime() - t0) / 1e9));
                return layout;
            }
        } catch (IOException e) {
            throw new ConversionException(e.getMessage() == null ? e.toString() : e.getMessage(), e);
        } finally {
            if (erofs != null) {
                try {
                    Files.deleteIfExists(erofs);
                } catch (IOException ignored) {
                    // best effort: a temporary file
                }
            }
        }
    }

    private byte[] manifest(
            ResolvedImage img, String digest, ImageConf.User user, GuestParts guest, long rootfsSize, long files)
            throws IOException {
        ObjectMapper om = new ObjectMapper();
        ObjectNode m = om.createObjectNode();
        m.put("converter", "c2w-java " + versionOf());
        m.put("created", Instant.now().toString());
        ObjectNode im = m.putObject("image");
        im.put("reference", img.reference());
        im.put("digest", digest);
        im.put("configDigest", img.configDigest());
        im.put("platform", "linux/" + o.arch());
        ArrayNode layers = im.putArray("layers");
        for (Layer l : img.layers())
            layers.addObject().put("digest", l.digest()).put("size", l.size());
        ImageConfig c = img.config();
        ObjectNode cfg = m.putObject("config");
        cfg.set("entrypoint", om.valueToTree(c.entrypoint()));
        cfg.set("cmd", om.valueToTree(c.cmd()));
        cfg.set("env", om.valueToTree(c.env()));
        cfg.put("workingDir", c.workingDir());
        cfg.put("user", c.user());
        cfg.put("resolvedUser", user.uid() + ":" + user.gid() + " groups " + user.groups() + " home " + user.home());
        cfg.set("exposedPorts", om.valueToTree(c.exposedPorts()));
        cfg.put("hostname", o.hostname());
        ObjectNode r = m.putObject("rootfs");
        r.put("format", "erofs");
        r.put("size", rootfsSize);
        r.put("files", files);
        if (o.externalBundle() != null) r.put("external", EXTERNAL_NAME);
        ObjectNode g = m.putObject("guest");
        for (String key : guest.versions().stringPropertyNames()) {
            if (!key.equals("kernel.cache")) g.put(key, guest.versions().getProperty(key));
        }
        g.put("memoryMiB", o.memoryMib());
        g.put("cmdline", CMDLINE);
        return om.writeValueAsBytes(m);
    }

    private static String versionOf() {
        String v = Converter.class.getPackage().getImplementationVersion();
        return v == null ? "0.1.0-SNAPSHOT" : v;
    }

    static long countInodes(FsNode root) {
        IdentityHashMap<FsNode, Boolean> seen = new IdentityHashMap<>();
        Deque<FsNode> todo = new ArrayDeque<>();
        todo.push(root);
        while (!todo.isEmpty()) {
            FsNode n = todo.pop();
            if (seen.put(n, Boolean.TRUE) != null) continue;
            if (n.isDir()) for (FsNode c : n.children().values()) todo.push(c);
        }
        return seen.size();
    }

    private ResolvedImage resolve(ImageReference ref, RegistryOptions ro) throws ConversionException {
        try {
            return ImageSource.of(ref, ro).resolve(Platform.linux(o.arch()));
        } catch (IOException | RuntimeException e) {
            String m = String.valueOf(e.getMessage());
            if (m.contains(" variant; it has: ")) {
                throw new ConversionException(
                        m + ". The guest runs linux/riscv64 programs: build the image for that platform"
                                + " (docker buildx build --platform linux/riscv64, buildah --arch riscv64) or use a base image that has it",
                        e);
            }
            throw new ConversionException("cannot read the image " + o.image() + ": " + m, e);
        }
    }

    /**
     * Why a layer could not be applied. A corrupt blob usually shows first as a broken tar or gzip
     * stream; reading the rest of it through the digest check tells a corrupt or changed blob (the
     * user must pull or save the image again) from a layer that is intact but hostile or unsupported.
     */
    private static ConversionException layerFailed(String label, Layer layer, InputStream in, Exception e) {
        String m = String.valueOf(e.getMessage());
        String detail = e instanceof LayerException && m.startsWith(label) ? m.substring(label.length()) : ": " + m;
        try {
            in.transferTo(OutputStream.nullOutputStream());
        } catch (IOException digestOrRead) {
            return new ConversionException(
                    label + ": " + digestOrRead.getMessage() + ". The blob is corrupt or was changed"
                            + " after the image was built: pull or save the image again (reading it failed with"
                            + detail + ")",
                    e);
        }
        return new ConversionException(label + " (" + layer.digest() + ")" + detail, e);
    }

    private static String shortDigest(String d) {
        int colon = d.indexOf(':');
        String hex = colon >= 0 ? d.substring(colon + 1) : d;
        return hex.length() > 12 ? hex.substring(0, 12) : hex;
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Path tmp = to.resolveSibling("." + to.getFileName() + ".partial");
            Files.copy(from, tmp, StandardCopyOption.REPLACE_EXISTING);
            Files.move(tmp, to, StandardCopyOption.REPLACE_EXISTING);
            Files.delete(from);
        }
    }
}
