package dev.c2w.converter.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A throwaway Docker registry on 127.0.0.1 for tests: Debian's {@code /usr/bin/docker-registry}
 * (distribution 2.8) with a config.yml and filesystem storage in a temporary directory, plain
 * HTTP. Images are pushed into it with skopeo.
 */
public final class LocalRegistry implements AutoCloseable {
    private static final String BINARY = "/usr/bin/docker-registry";
    private static final Duration START_DEADLINE = Duration.ofSeconds(30);
    private static final Duration PUSH_TIMEOUT = Duration.ofMinutes(5);

    private final Path tmp;
    private final int port;
    private final Process process;
    private final Thread shutdownHook;

    private LocalRegistry(Path tmp, int port, Process process) {
        this.tmp = tmp;
        this.port = port;
        this.process = process;
        this.shutdownHook = new Thread(() -> Proc.killTree(process.toHandle()), "local-registry-kill");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /** Starts a registry on a free loopback port and waits (at most 30 s) until GET /v2/ answers. */
    public static LocalRegistry start() throws IOException {
        if (!Files.isExecutable(Path.of(BINARY))) {
            throw new IOException(BINARY + " is missing (apt-get install docker-registry)");
        }
        IOException last = null;
        for (int attempt = 0; attempt < 3; attempt++) { // the free port may be taken before the registry binds it
            Path tmp = Files.createTempDirectory("c2w-registry");
            try {
                return startIn(tmp, freePort());
            } catch (IOException e) {
                deleteTree(tmp);
                last = e;
            }
        }
        throw last;
    }

    private static LocalRegistry startIn(Path tmp, int port) throws IOException {
        Path data = Files.createDirectories(tmp.resolve("data"));
        Path config = tmp.resolve("config.yml");
        Files.writeString(
                config,
                String.join(
                        "\n",
                        "version: 0.1",
                        "log:",
                        "  level: warn",
                        "  accesslog:",
                        "    disabled: true",
                        "storage:",
                        "  filesystem:",
                        "    rootdirectory: " + data,
                        "  delete:",
                        "    enabled: true",
                        "http:",
                        "  addr: 127.0.0.1:" + port,
                        ""));
        Path log = tmp.resolve("registry.log");
        Process p = new ProcessBuilder(BINARY, "serve", config.toString())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .start();
        long deadline = System.nanoTime() + START_DEADLINE.toNanos();
        while (true) {
            if (!p.isAlive()) {
                throw new IOException(
                        "docker-registry exited with " + p.exitValue() + " before answering:\n" + readLog(log));
            }
            if (answers(port)) {
                return new LocalRegistry(tmp, port, p);
            }
            if (System.nanoTime() > deadline) {
                Proc.killTree(p.toHandle());
                throw new IOException("docker-registry did not answer GET /v2/ on 127.0.0.1:" + port + " within "
                        + START_DEADLINE + ":\n" + readLog(log));
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Proc.killTree(p.toHandle());
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while starting docker-registry", e);
            }
        }
    }

    /** "127.0.0.1:PORT", for image references such as {@code HOST/repo:tag}. */
    public String host() {
        return "127.0.0.1:" + port;
    }

    /** The registry's temporary directory (config.yml, registry.log, data/). */
    public Path dir() {
        return tmp;
    }

    /**
     * Copies image {@code tag} of OCI layout {@code ociLayout} to {@code host()/repoAndTag} with
     * skopeo; an image index is copied with all its platforms ({@code --all}).
     */
    public void push(Path ociLayout, String tag, String repoAndTag) throws IOException {
        List<String> cmd =
                new ArrayList<>(List.of("skopeo", "--insecure-policy", "copy", "-q", "--dest-tls-verify=false"));
        if (isIndex(ociLayout, tag)) {
            cmd.add("--all");
        }
        cmd.add("oci:" + ociLayout + ":" + tag);
        cmd.add("docker://" + host() + "/" + repoAndTag);
        Proc.Result r;
        try {
            r = Proc.run(PUSH_TIMEOUT, cmd);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + cmd, e);
        }
        if (r.exit() != 0) {
            throw new IOException("push failed (exit " + r.exit() + "): " + String.join(" ", cmd) + "\n" + r.output()
                    + "\nregistry log:\n" + readLog(tmp.resolve("registry.log")));
        }
    }

    /** Stops the registry (TERM, then KILL after 10 s) and deletes its directory. */
    @Override
    public void close() {
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // already shutting down: the hook runs anyway
        }
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                Proc.killTree(process.toHandle());
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Proc.killTree(process.toHandle());
            Thread.currentThread().interrupt();
        }
        deleteTree(tmp);
    }

    private static boolean isIndex(Path layout, String tag) throws IOException {
        JsonNode index =
                new ObjectMapper().readTree(layout.resolve("index.json").toFile());
        for (JsonNode m : index.path("manifests")) {
            if (tag.equals(m.path("annotations")
                    .path("org.opencontainers.image.ref.name")
                    .asText())) {
                return m.path("mediaType").asText().equals("application/vnd.oci.image.index.v1+json");
            }
        }
        throw new IOException("no image tagged " + tag + " in " + layout.resolve("index.json"));
    }

    private static boolean answers(int port) {
        try {
            HttpURLConnection c = (HttpURLConnection) new URL("http://127.0.0.1:" + port + "/v2/").openConnection();
            c.setConnectTimeout(1000);
            c.setReadTimeout(2000);
            try {
                return c.getResponseCode() == 200;
            } finally {
                c.disconnect();
            }
        } catch (IOException e) {
            return false;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    private static String readLog(Path log) {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort: a temporary directory
        }
    }
}
