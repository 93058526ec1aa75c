package dev.c2w.netstack.transport.ws;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A loopback page server plus one headless Chromium at a time.
 *
 * <p>Test utility: serves the test pages (src/test/resources/browser/) from a loopback HTTP server and
 * runs Debian's headless Chromium (/usr/bin/chromium, or $C2W_CHROMIUM) on one of them through the
 * project's tools/headless-chromium (the one command line for all our browser runs: fresh profile, no
 * background networking, host-resolver rules that map every name to 127.0.0.1 and ignore the system
 * resolver, so nothing leaves the machine). The page reports back with POST /result ("key=value"
 * lines), so no DevTools driver is needed.
 */
final class HeadlessChromium implements AutoCloseable {
    private final HttpServer http;
    private final LinkedBlockingQueue<Map<String, String>> results = new LinkedBlockingQueue<>();
    private final List<Process> browsers = new ArrayList<>();
    private final List<Path> profiles = new ArrayList<>();

    HeadlessChromium() throws IOException {
        http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        http.createContext("/", ex -> {
            try (ex) {
                String path = ex.getRequestURI().getPath();
                if (ex.getRequestMethod().equals("POST") && path.equals("/result")) {
                    String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
                    Map<String, String> m = new LinkedHashMap<>();
                    for (String line : body.split("\n")) {
                        int eq = line.indexOf('=');
                        if (eq > 0) {
                            m.put(line.substring(0, eq), line.substring(eq + 1));
                        }
                    }
                    results.add(m);
                    ex.sendResponseHeaders(204, -1);
                    return;
                }
                InputStream page = path.matches("/[a-z-]+\\.html")
                        ? HeadlessChromium.class.getResourceAsStream("/browser" + path)
                        : null;
                if (page == null) {
                    ex.sendResponseHeaders(404, -1);
                    return;
                }
                byte[] b = page.readAllBytes();
                ex.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
                ex.sendResponseHeaders(200, b.length);
                ex.getResponseBody().write(b);
            }
        });
        http.start();
    }

    /** A clear failure when Chromium is missing (instead of an empty browser log). */
    static void requireChromium() {
        String env = System.getenv("C2W_CHROMIUM");
        Path p = Paths.get(env != null ? env : "/usr/bin/chromium");
        if (!Files.isExecutable(p)) {
            throw new AssertionError(
                    "Chromium not found at " + p + ": apt-get install -y chromium (or set C2W_CHROMIUM)");
        }
    }

    /** tools/headless-chromium of this checkout (tests run in the module's directory). */
    static Path launcher() {
        Path p = Paths.get("..", "tools", "headless-chromium").toAbsolutePath().normalize();
        if (!Files.isExecutable(p)) {
            throw new AssertionError("missing " + p + " (run the tests from the project's checkout)");
        }
        return p;
    }

    int port() {
        return http.getAddress().getPort();
    }

    /**
     * Opens {@code urls} in a new headless Chromium: one URL as the page, several each in an iframe of
     * multi.html (headless Chromium takes a single target).
     */
    void open(String... urls) throws IOException {
        Path profile = Files.createTempDirectory("c2w-chromium-");
        profiles.add(profile);
        Path log = Paths.get("target", "chromium-" + System.nanoTime() + ".log");
        Files.createDirectories(log.getParent());
        requireChromium();
        List<String> cmd = new ArrayList<>(List.of(launcher().toString(), profile.toString()));
        if (urls.length == 1) {
            cmd.add(urls[0]);
        } else {
            StringBuilder multi = new StringBuilder("http://127.0.0.1:" + port() + "/multi.html?");
            for (String u : urls) {
                multi.append("u=")
                        .append(URLEncoder.encode(u, StandardCharsets.UTF_8))
                        .append('&');
            }
            cmd.add(multi.toString());
        }
        Process p = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        browsers.add(p);
    }

    /** The next page report; fails after 60 s (a bound for a hung browser, not a timing check). */
    Map<String, String> result() throws InterruptedException {
        Map<String, String> r = results.poll(60, TimeUnit.SECONDS);
        if (r == null) {
            throw new AssertionError("the test page reported nothing within 60 s (see netstack/target/chromium-*.log)");
        }
        return r;
    }

    @Override
    public void close() throws IOException {
        for (Process p : browsers) {
            List<ProcessHandle> kids = p.descendants().toList();
            p.destroy();
            kids.forEach(ProcessHandle::destroy);
            try {
                if (!p.waitFor(10, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    kids.forEach(ProcessHandle::destroyForcibly);
                    p.waitFor(10, TimeUnit.SECONDS);
                }
                for (ProcessHandle k : kids) {
                    k.onExit().get(10, TimeUnit.SECONDS);
                }
            } catch (Exception e) {
                kids.forEach(ProcessHandle::destroyForcibly);
            }
        }
        http.stop(0);
        for (Path profile : profiles) {
            try (Stream<Path> s = Files.walk(profile)) {
                s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }
}
