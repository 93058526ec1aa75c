package dev.c2w.systemtests;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;

/**
 * The guest's kernel and initramfs, built once and cached outside the repository
 * (by default in ~/.cache/c2w-java/guest, or where -Dc2w.guest.cache points).
 *
 * <ul>
 *   <li>Kernel: Debian's current linux-image-*-amd64 package (the one the
 *       linux-image-amd64 metapackage depends on), fetched with {@code apt-get download}
 *       and unpacked with {@code dpkg -x}; nothing is installed on the host. Only vmlinuz and
 *       the NIC driver modules (with their dependencies, read from each module's
 *       {@code depends=} field) are kept.</li>
 *   <li>Userland: the host's static busybox (package busybox-static), one symlink per applet,
 *       plus {@code c2wtool} (a UDP echo client and a TCP upload client), compiled
 *       statically with gcc from the test resource guest/c2wtool.c.</li>
 *   <li>The initramfs (gzip'd newc cpio) is written here in Java; its /init serves commands
 *       on the serial console, see {@link QemuGuest}.</li>
 * </ul>
 * Cache entries are keyed by the kernel package's name and version and by the hashes of
 * everything else that goes in, so a Debian kernel update or an edited resource rebuilds.
 */
public final class GuestImage {
    /** Modules the guest loads, in addition to their dependencies. */
    static final List<String> WANTED_MODULES = List.of("virtio_pci", "virtio_net", "e1000");

    private static final Pattern KERNEL_DEP =
            Pattern.compile("Depends:\\s*(linux-image-[0-9][^\\s]*-amd64)\\s*$", Pattern.MULTILINE);
    private static final Pattern VERSION = Pattern.compile("^Version:\\s*(\\S+)\\s*$", Pattern.MULTILINE);
    private static final String BUSYBOX = "/bin/busybox";

    private static GuestImage cached;
    private static GuestImage cachedWithCurl;

    private final Path kernel;
    private final Path initramfs;
    private final String kernelPackage;

    private GuestImage(Path kernel, Path initramfs, String kernelPackage) {
        this.kernel = kernel;
        this.initramfs = initramfs;
        this.kernelPackage = kernelPackage;
    }

    public Path kernel() {
        return kernel;
    }

    public Path initramfs() {
        return initramfs;
    }

    /** Debian package name and version of the kernel, e.g. linux-image-6.1.0-56-amd64_6.1.192-2. */
    public String kernelPackage() {
        return kernelPackage;
    }

    /** Prepares (or reuses) the image; safe to call from several tests. */
    public static synchronized GuestImage prepare() throws IOException, InterruptedException {
        if (cached == null) {
            cached = build(cacheRoot(), Map.of());
        }
        return cached;
    }

    /**
     * The image plus the host's {@code /usr/bin/curl} (as /bin/curl) and every shared library
     * {@code ldd} names for it, the dynamic loader included, at the same paths. The host is
     * Debian x86_64 like the guest kernel, so the dynamically linked binary runs in the guest.
     * A separate cache entry: the plain image stays as it is.
     */
    public static synchronized GuestImage prepareWithCurl() throws IOException, InterruptedException {
        if (cachedWithCurl == null) {
            cachedWithCurl = build(cacheRoot(), curlFiles());
        }
        return cachedWithCurl;
    }

    /** Explains what the curl variant lacks on this host, or returns null. */
    public static String missingCurlPrerequisites() {
        String base = missingPrerequisites();
        List<String> missing = new ArrayList<>();
        if (base != null) {
            missing.add(base);
        }
        if (!Files.isExecutable(Path.of(CURL))) {
            missing.add(CURL + " (package curl)");
        }
        if (!onPath("ldd")) {
            missing.add("ldd (package libc-bin)");
        }
        return missing.isEmpty() ? null : String.join("; ", missing);
    }

    private static final String CURL = "/usr/bin/curl";
    private static final Pattern LDD_PATH = Pattern.compile("(?:=>\\s*)?(/\\S+)\\s+\\(0x[0-9a-f]+\\)");

    /** Guest path (relative, e.g. lib/x86_64-linux-gnu/libc.so.6) to host file, for curl and its libraries. */
    static Map<String, Path> curlFiles() throws IOException, InterruptedException {
        Map<String, Path> files = new TreeMap<>();
        files.put("bin/curl", Path.of(CURL));
        String ldd = run(Path.of("/"), 60, "ldd", CURL);
        for (String line : ldd.split("\n")) {
            if (line.contains("not found")) {
                throw new IOException("ldd " + CURL + " cannot find a library: " + line.strip());
            }
            Matcher m = LDD_PATH.matcher(line);
            if (m.find()) {
                String lib = m.group(1);
                files.put(lib.substring(1), Path.of(lib));
            }
        }
        if (!files.containsKey("lib64/ld-linux-x86-64.so.2")) {
            throw new IOException("ldd did not name the dynamic loader /lib64/ld-linux-x86-64.so.2:\n" + ldd);
        }
        return files;
    }

    static Path cacheRoot() {
        String configured = System.getProperty("c2w.guest.cache");
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured);
        }
        return Path.of(System.getProperty("user.home"), ".cache", "c2w-java", "guest");
    }

    /** Explains what is missing on this host, or returns null when the image can be built. */
    public static String missingPrerequisites() {
        List<String> missing = new ArrayList<>();
        for (String tool : List.of("qemu-system-x86_64", "apt-get", "apt-cache", "dpkg", "gcc")) {
            if (!onPath(tool)) {
                missing.add(tool);
            }
        }
        if (!Files.isExecutable(Path.of(BUSYBOX))) {
            missing.add(BUSYBOX + " (package busybox-static)");
        }
        return missing.isEmpty() ? null : "missing: " + String.join(", ", missing);
    }

    private static boolean onPath(String tool) {
        String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
        for (String dir : path.split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    /** @param extras more files for the initramfs: relative guest path to host file (symlinks followed) */
    private static GuestImage build(Path root, Map<String, Path> extras) throws IOException, InterruptedException {
        Files.createDirectories(root);
        String kernelPkg = run(root, 120, "apt-cache", "depends", "linux-image-amd64");
        Matcher m = KERNEL_DEP.matcher(kernelPkg);
        if (!m.find()) {
            throw new IOException("cannot tell which kernel linux-image-amd64 depends on"
                    + " (is 'apt-get update' done?); apt-cache said:\n" + kernelPkg);
        }
        String pkg = m.group(1);
        Matcher v = VERSION.matcher(run(root, 120, "apt-cache", "show", "--no-all-versions", pkg));
        if (!v.find()) {
            throw new IOException("apt-cache show gave no version for " + pkg);
        }
        String version = v.group(1);
        String kernelKey = pkg + "_" + version.replace(':', '%');
        Path kernelDir = prepareKernel(root.resolve("kernel").resolve(kernelKey), pkg, version);

        byte[] busybox = Files.readAllBytes(Path.of(BUSYBOX));
        byte[] toolSource = resource("c2wtool.c");
        Path tool = compileTool(root.resolve("tools"), toolSource);
        byte[] init = resource("init.sh");
        byte[] dhcpScript = resource("udhcpc.script");
        List<String> moduleOrder = Files.readAllLines(kernelDir.resolve("modules.order"));

        MessageDigest key = sha256();
        for (byte[] part : List.of(
                kernelKey.getBytes(StandardCharsets.UTF_8),
                busybox,
                Files.readAllBytes(tool),
                init,
                dhcpScript,
                String.join(",", moduleOrder).getBytes(StandardCharsets.UTF_8))) {
            key.update(sha256().digest(part));
        }
        Map<String, byte[]> extraContent = new TreeMap<>();
        for (Map.Entry<String, Path> e : extras.entrySet()) {
            byte[] content = Files.readAllBytes(e.getValue());
            extraContent.put(e.getKey(), content);
            key.update(sha256().digest(e.getKey().getBytes(StandardCharsets.UTF_8)));
            key.update(sha256().digest(content));
        }
        String initramfsKey = HexFormat.of().formatHex(key.digest()).substring(0, 16);
        Path initramfs = root.resolve("initramfs-" + initramfsKey + ".cpio.gz");
        if (!Files.exists(initramfs)) {
            Path tmp = Files.createTempFile(root, "initramfs", ".tmp");
            try (OutputStream os = new GZIPOutputStream(Files.newOutputStream(tmp), 1 << 16);
                    NewcArchive cpio = new NewcArchive(os)) {
                writeInitramfs(
                        cpio,
                        busybox,
                        Files.readAllBytes(tool),
                        init,
                        dhcpScript,
                        kernelDir,
                        moduleOrder,
                        extraContent);
            }
            moveAtomically(tmp, initramfs);
        }
        return new GuestImage(kernelDir.resolve("vmlinuz"), initramfs, kernelKey);
    }

    private static void writeInitramfs(
            NewcArchive cpio,
            byte[] busybox,
            byte[] tool,
            byte[] init,
            byte[] dhcpScript,
            Path kernelDir,
            List<String> moduleOrder,
            Map<String, byte[]> extras)
            throws IOException, InterruptedException {
        for (String dir : List.of(
                "bin",
                "dev",
                "etc",
                "etc/udhcpc",
                "lib",
                "lib/modules",
                "proc",
                "root",
                "run",
                "sbin",
                "sys",
                "tmp",
                "usr",
                "usr/bin",
                "usr/sbin",
                "var",
                "www")) {
            cpio.directory(dir, dir.equals("tmp") ? 01777 : 0755);
        }
        // The kernel opens /dev/console for init's stdio before devtmpfs is mounted.
        cpio.charDevice("dev/console", 0600, 5, 1);
        cpio.charDevice("dev/null", 0666, 1, 3);
        cpio.file("bin/busybox", 0755, busybox);
        String list = run(Path.of("/"), 60, BUSYBOX, "--list");
        Set<String> applets = new LinkedHashSet<>();
        for (String line : list.split("\n")) {
            String name = line.strip();
            if (!name.isEmpty() && !name.equals("busybox") && name.matches("[A-Za-z0-9_.\\[\\]-]+")) {
                applets.add(name);
            }
        }
        for (String applet : applets) {
            if (!extras.containsKey("bin/" + applet)) {
                cpio.symlink("bin/" + applet, "busybox");
            }
        }
        cpio.file("bin/c2wtool", 0755, tool);
        cpio.file("init", 0755, init);
        cpio.file("etc/udhcpc/default.script", 0755, dhcpScript);
        cpio.file("etc/resolv.conf", 0644, new byte[0]);
        cpio.file("etc/passwd", 0644, "root:x:0:0:root:/root:/bin/sh\n".getBytes(StandardCharsets.US_ASCII));
        cpio.file("etc/group", 0644, "root:x:0:\n".getBytes(StandardCharsets.US_ASCII));
        cpio.file(
                "etc/modules.order", 0644, (String.join("\n", moduleOrder) + "\n").getBytes(StandardCharsets.US_ASCII));
        for (String module : moduleOrder) {
            cpio.file(
                    "lib/modules/" + module + ".ko",
                    0644,
                    Files.readAllBytes(kernelDir.resolve("modules").resolve(module + ".ko")));
        }
        Set<String> dirs = new TreeSet<>();
        for (String path : extras.keySet()) {
            for (int i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) {
                dirs.add(path.substring(0, i));
            }
        }
        for (String dir : dirs) {
            if (!List.of("bin", "lib", "usr", "usr/bin", "usr/sbin", "sbin", "etc")
                    .contains(dir)) {
                cpio.directory(dir, 0755);
            }
        }
        for (Map.Entry<String, byte[]> e : extras.entrySet()) {
            cpio.file(e.getKey(), 0755, e.getValue());
        }
    }

    /** Downloads and unpacks the kernel package once; keeps vmlinuz and the needed modules. */
    private static Path prepareKernel(Path dir, String pkg, String version) throws IOException, InterruptedException {
        if (Files.exists(dir.resolve("modules.order"))) {
            return dir;
        }
        Files.createDirectories(dir.getParent());
        Path work = Files.createTempDirectory(dir.getParent(), "download");
        try {
            run(work, 600, "apt-get", "download", pkg + "=" + version);
            Path deb;
            try (Stream<Path> s = Files.list(work)) {
                deb = s.filter(p -> p.getFileName().toString().endsWith(".deb"))
                        .findFirst()
                        .orElseThrow(() -> new IOException("apt-get download left no .deb in " + work));
            }
            Path unpacked = work.resolve("root");
            run(work, 600, "dpkg", "-x", deb.toString(), unpacked.toString());
            Path staged = work.resolve("staged");
            Files.createDirectories(staged.resolve("modules"));
            Path vmlinuz;
            try (Stream<Path> s = Files.list(unpacked.resolve("boot"))) {
                vmlinuz = s.filter(p -> p.getFileName().toString().startsWith("vmlinuz-"))
                        .findFirst()
                        .orElseThrow(() -> new IOException("no boot/vmlinuz-* in " + deb));
            }
            Files.copy(vmlinuz, staged.resolve("vmlinuz"));
            Path modulesRoot;
            try (Stream<Path> s = Files.list(unpacked.resolve("lib/modules"))) {
                modulesRoot = s.findFirst().orElseThrow(() -> new IOException("no lib/modules in " + deb));
            }
            Map<String, Path> index = new HashMap<>();
            try (Stream<Path> s = Files.walk(modulesRoot)) {
                s.filter(Files::isRegularFile).forEach(p -> {
                    String f = p.getFileName().toString();
                    if (f.endsWith(".ko")) {
                        index.put(f.substring(0, f.length() - 3).replace('-', '_'), p);
                    } else if (f.contains(".ko.")) {
                        index.putIfAbsent(f.substring(0, f.indexOf(".ko.")).replace('-', '_'), p);
                    }
                });
            }
            List<String> order = new ArrayList<>();
            for (String wanted : WANTED_MODULES) {
                addWithDependencies(wanted, index, order, new LinkedHashSet<>());
            }
            for (String module : order) {
                Files.copy(index.get(module), staged.resolve("modules").resolve(module + ".ko"));
            }
            Files.writeString(staged.resolve("modules.order"), String.join("\n", order) + "\n");
            Files.writeString(staged.resolve("package"), pkg + " " + version + "\n");
            moveAtomically(staged, dir);
            return dir;
        } finally {
            deleteTree(work);
        }
    }

    private static void addWithDependencies(
            String module, Map<String, Path> index, List<String> order, Set<String> visiting) throws IOException {
        if (order.contains(module)) {
            return;
        }
        if (!visiting.add(module)) {
            throw new IOException("module dependency cycle at " + module);
        }
        Path file = index.get(module);
        if (file == null) {
            throw new IOException("module " + module + " is not in the kernel package"
                    + " (built in? check CONFIG_* in boot/config-*)");
        }
        if (!file.getFileName().toString().endsWith(".ko")) {
            throw new IOException("module " + file + " is compressed; busybox insmod needs plain .ko");
        }
        for (String dep : moduleDepends(Files.readAllBytes(file))) {
            addWithDependencies(dep, index, order, visiting);
        }
        order.add(module);
    }

    /** Reads the "depends=a,b" string of a module's .modinfo section. */
    static List<String> moduleDepends(byte[] ko) {
        byte[] needle = "\0depends=".getBytes(StandardCharsets.US_ASCII);
        outer:
        for (int i = 0; i + needle.length <= ko.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (ko[i + j] != needle[j]) {
                    continue outer;
                }
            }
            int start = i + needle.length;
            int end = start;
            while (end < ko.length && ko[end] != 0) {
                end++;
            }
            String value = new String(ko, start, end - start, StandardCharsets.US_ASCII).strip();
            List<String> deps = new ArrayList<>();
            for (String d : value.split(",")) {
                if (!d.isBlank()) {
                    deps.add(d.strip().replace('-', '_'));
                }
            }
            return deps;
        }
        return List.of();
    }

    private static Path compileTool(Path toolsDir, byte[] source) throws IOException, InterruptedException {
        Files.createDirectories(toolsDir);
        String hash = HexFormat.of().formatHex(sha256().digest(source)).substring(0, 16);
        Path binary = toolsDir.resolve("c2wtool-" + hash);
        if (Files.isExecutable(binary)) {
            return binary;
        }
        Path src = toolsDir.resolve("c2wtool-" + hash + ".c");
        Files.write(src, source);
        Path tmp = toolsDir.resolve("c2wtool-" + hash + ".tmp");
        run(toolsDir, 300, "gcc", "-static", "-Os", "-Wall", "-o", tmp.toString(), src.toString());
        moveAtomically(tmp, binary);
        return binary;
    }

    static byte[] resource(String name) throws IOException {
        try (InputStream in = GuestImage.class.getResourceAsStream("/guest/" + name)) {
            if (in == null) {
                throw new IOException("missing test resource guest/" + name);
            }
            return in.readAllBytes();
        }
    }

    /** Runs a host tool, returns its stdout+stderr, fails on a non-zero exit or after timeoutSeconds. */
    static String run(Path cwd, int timeoutSeconds, String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command)
                .directory(cwd.toFile())
                .redirectErrorStream(true)
                .start();
        p.getOutputStream().close();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Thread pump = new Thread(() -> {
            try (InputStream in = p.getInputStream()) {
                in.transferTo(out);
            } catch (IOException e) {
                // the process is gone; what was read is kept
            }
        });
        pump.start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", command) + " did not finish in " + timeoutSeconds + " s");
        }
        pump.join(10_000);
        String text;
        synchronized (out) {
            text = out.toString(StandardCharsets.UTF_8);
        }
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " exited with " + p.exitValue() + ":\n" + text);
        }
        return text;
    }

    private static void moveAtomically(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to);
        } catch (IOException e) {
            if (!Files.exists(to)) {
                throw e;
            }
            deleteTree(from); // another build won the race; its result is equivalent
        }
    }

    static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            // best effort: a left-over temporary directory in the cache is harmless
        }
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
