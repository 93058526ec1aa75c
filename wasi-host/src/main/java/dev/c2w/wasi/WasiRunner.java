package dev.c2w.wasi;

import com.dylibso.chicory.compiler.InterpreterFallback;
import com.dylibso.chicory.compiler.MachineFactoryCompiler;
import com.dylibso.chicory.runtime.ExportFunction;
import com.dylibso.chicory.runtime.ImportValues;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Machine;
import com.dylibso.chicory.runtime.Memory;
import com.dylibso.chicory.wasi.WasiExitException;
import com.dylibso.chicory.wasm.ChicoryException;
import com.dylibso.chicory.wasm.Parser;
import com.dylibso.chicory.wasm.WasmModule;
import com.dylibso.chicory.wasm.types.ExternalType;
import com.dylibso.chicory.wasm.types.MemoryLimits;
import com.dylibso.chicory.wasm.types.NameCustomSection;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs a WASI module for {@code c2w-net --invoke}: on Chicory in this JVM (default), its socket wired to a
 * {@link VirtualNetwork} in-process, or on an installed wasmtime as upstream does ({@link WasmtimeLauncher}).
 * The module's exit status is returned; see README.md in this package for the design.
 */
public final class WasiRunner {
    /** Exit status for a trap (wasmtime's: 128 + SIGABRT). */
    public static final int EXIT_TRAP = 134;
    /** Exit status when the runner itself cannot run the module (bad options, missing file, no memory). */
    public static final int EXIT_RUNNER = 125;

    private final InputStream in;
    private final OutputStream out;
    private final OutputStream err;
    private final PrintStream msg;
    private ExternalRuntime external;
    private final boolean systemStdio;
    private volatile WasiHost lastHost;
    private volatile int lastCacheHits = -1;

    /** A runner on the process's own stdin, stdout and stderr (raw terminal when stdin is a tty). */
    public WasiRunner() {
        this.in = System.in;
        this.out = new FileOutputStream(FileDescriptor.out);
        this.err = new FileOutputStream(FileDescriptor.err);
        this.msg = System.err;
        this.systemStdio = true;
    }

    /** A runner on the given streams (tests, embedding): no terminal handling. */
    public WasiRunner(InputStream in, OutputStream out, OutputStream err) {
        this.in = in;
        this.out = out;
        this.err = err;
        this.msg = new PrintStream(err, true);
        this.systemStdio = false;
    }

    /**
     * Runs the module in {@code opts}. {@code sockets} is where the guest's listening socket leads (c2w-net
     * gives its in-process network); null runs the module without a listening socket.
     */
    public int run(InvokeOptions opts, SocketBackend sockets) {
        return run(opts, sockets, null);
    }

    /** Runs a module on a runtime outside this JVM (wasmtime), wired to the same network. */
    @FunctionalInterface
    public interface ExternalRuntime {
        int run(InvokeOptions opts);
    }

    /** What runs modules whose options ask for {@code --runtime wasmtime}; without one that is a usage error. */
    public WasiRunner external(ExternalRuntime runtime) {
        this.external = runtime;
        return this;
    }

    /** Where the runner's own messages go. */
    public PrintStream messages() {
        return msg;
    }

    /**
     * The same, with the module read (and compiled, or its compiled classes loaded) ahead by
     * {@link #preload}; null does that here.
     */
    public int run(InvokeOptions opts, SocketBackend sockets, Preload preload) {
        try {
            if (opts.module() == null) {
                throw new UsageException("--invoke needs the module: c2w-net --invoke [options] out.wasm [ARGS...]");
            }
            if (!Files.isRegularFile(opts.module())) {
                throw new UsageException("module not found: " + opts.module());
            }
            Map<String, Path> dirs = preopens(opts);
            Map<String, String> env = env(opts);
            if (opts.runtime() == InvokeOptions.Engine.wasmtime) {
                if (external == null) {
                    throw new UsageException("--runtime wasmtime is not available here; leave --runtime out");
                }
                return external.run(opts);
            }
            return runEmbedded(opts, sockets, dirs, env, preload);
        } catch (UsageException e) {
            msg.println("c2w-net: " + e.getMessage());
            return EXIT_RUNNER;
        }
    }

    /** Guest path to host path, --dir first then --mapdir, in the order given. */
    public static Map<String, Path> preopens(InvokeOptions opts) {
        Map<String, Path> dirs = new LinkedHashMap<>();
        for (String d : opts.dirs()) {
            int i = d.indexOf("::");
            String host = i < 0 ? d : d.substring(0, i);
            String guest = i < 0 ? d : d.substring(i + 2);
            addDir(dirs, guest, host, "--dir " + d);
        }
        for (String d : opts.mapdirs()) {
            int i = d.indexOf("::");
            if (i < 0) {
                throw new UsageException("--mapdir wants GUEST::HOST, got " + d);
            }
            addDir(dirs, d.substring(0, i), d.substring(i + 2), "--mapdir " + d);
        }
        return dirs;
    }

    private static void addDir(Map<String, Path> dirs, String guest, String host, String what) {
        if (guest.isEmpty() || host.isEmpty()) {
            throw new UsageException(what + ": empty path");
        }
        Path p = Path.of(host);
        if (!Files.isDirectory(p)) {
            throw new UsageException(what + ": " + host + " is not a directory");
        }
        dirs.put(guest, p);
    }

    /** Our guest emulator's marker export (guest/emulator/src/main.c). */
    static final String EMULATOR_MARKER = "c2w_emulator";

    /**
     * The environment for the module, plus {@code C2W_EMU_DISPATCH=calls} when the module is our guest
     * emulator (it exports {@link #EMULATOR_MARKER}) and the user did not choose: on the JVM the emulator's
     * loop of one small call per instruction runs faster than its big inline loop, which HotSpot cannot
     * inline into (guest/README.md). The emulator keeps C2W_EMU_* variables out of the container's
     * environment. Any other module gets exactly the environment it was given.
     */
    static Map<String, String> tuneForOurEmulator(WasmModule module, Map<String, String> env) {
        if (!hasFunctionExport(module, EMULATOR_MARKER) || env.containsKey("C2W_EMU_DISPATCH")) {
            return env;
        }
        Map<String, String> tuned = new LinkedHashMap<>(env);
        tuned.put("C2W_EMU_DISPATCH", "calls");
        return tuned;
    }

    public static Map<String, String> env(InvokeOptions opts) {
        Map<String, String> env = new LinkedHashMap<>();
        for (String kv : opts.env()) {
            int i = kv.indexOf('=');
            if (i <= 0) {
                throw new UsageException("--env wants KEY=VALUE, got " + kv);
            }
            env.put(kv.substring(0, i), kv.substring(i + 1));
        }
        return env;
    }

    /**
     * The guest's argv[1..] with an emulator's {@code --net=socket[=listenfd=M]} pointed at our listening
     * socket. Arguments without a --net flag are left alone (the guest may not be an emulator).
     */
    static List<String> rewriteNetArg(List<String> args, int listenFd) {
        List<String> out = new ArrayList<>(args);
        if (listenFd < 0) {
            return out;
        }
        for (int i = 0; i < out.size(); i++) {
            String a = out.get(i);
            if (a.equals("--")) {
                break;
            }
            for (String prefix : new String[] {"--net=", "-net="}) {
                if (a.startsWith(prefix) && a.substring(prefix.length()).startsWith("socket")) {
                    out.set(i, prefix + "socket=listenfd=" + listenFd);
                    return out; // the emulator's own flag; later ones belong to the guest's command
                }
            }
            if ((a.equals("--net") || a.equals("-net"))
                    && i + 1 < out.size()
                    && out.get(i + 1).startsWith("socket")) {
                out.set(i + 1, "socket=listenfd=" + listenFd);
                return out;
            }
        }
        return out;
    }

    /*
     * Reading the module is a good part of the runner's start: Chicory parses and validates it (about
     * 0.25 s for our 136 KB emulator in a cold JVM), then compiles it to JVM classes or loads them from the
     * disk cache (about 0.3 s). None of that needs the network, so the CLI starts it on a thread of its own
     * (preload) before it builds the network stack and loads the proxy's CA, and the two overlap. Failures
     * are kept and reported where run() reported them before, with the same messages.
     */

    /** A module being read and compiled on a thread of its own; see the comment above. */
    public static final class Preload {
        private final CompletableFuture<Loaded> loaded;

        private Preload(CompletableFuture<Loaded> loaded) {
            this.loaded = loaded;
        }

        Loaded join() {
            return loaded.join();
        }
    }

    /** What reading and compiling a module gave: the module or the error, the machine factory or the error. */
    private record Loaded(
            WasmModule module,
            Throwable parseError,
            Function<Instance, Machine> machine,
            DiskCache cache,
            Throwable compileError) {}

    /**
     * Starts reading {@code opts.module()} (and compiling it, unless --interpret) on a daemon thread; null
     * when there is nothing to read ahead (wasmtime, or no such file: run() reports that).
     */
    public static Preload preload(InvokeOptions opts) {
        if (opts.module() == null
                || opts.runtime() != InvokeOptions.Engine.embedded
                || !Files.isRegularFile(opts.module())) {
            return null;
        }
        CompletableFuture<Loaded> f = new CompletableFuture<>();
        Thread t = new Thread(() -> f.complete(load(opts)), "c2w-net-module-load");
        t.setDaemon(true);
        t.start();
        return new Preload(f);
    }

    private static Loaded load(InvokeOptions opts) {
        WasmModule module;
        try {
            module = Parser.parse(opts.module());
        } catch (Throwable e) {
            return new Loaded(null, e, null, null, null);
        }
        if (opts.interpret()) {
            return new Loaded(module, null, null, null, null);
        }
        DiskCache cache = opts.noCache()
                ? null
                : new DiskCache(opts.cacheDir() != null ? opts.cacheDir() : DiskCache.defaultDir());
        try {
            MachineFactoryCompiler.Builder b =
                    MachineFactoryCompiler.builder(module).withInterpreterFallback(InterpreterFallback.WARN);
            if (cache != null) {
                // converted modules (c2w) share the emulator's code: one compile serves them all
                String codeKey = isConvertedModule(module) ? CodeKey.of(opts.module()) : null;
                b.withCache(codeKey == null ? cache : CodeKey.keyedBy(cache, module.digest(), codeKey));
            }
            return new Loaded(module, null, b.compile(), cache, null);
        } catch (Throwable e) {
            return new Loaded(module, null, null, cache, e);
        }
    }

    private static RuntimeException rethrow(Throwable e) {
        if (e instanceof RuntimeException r) {
            throw r;
        }
        if (e instanceof Error r) {
            throw r;
        }
        throw new IllegalStateException(e);
    }

    private int runEmbedded(
            InvokeOptions opts,
            SocketBackend sockets,
            Map<String, Path> dirs,
            Map<String, String> env,
            Preload preload) {
        Loaded loaded = preload != null ? preload.join() : load(opts);
        WasmModule module = loaded.module();
        if (loaded.parseError() != null) {
            Throwable e = loaded.parseError();
            if (!(e instanceof ChicoryException) && !(e instanceof OutOfMemoryError)) {
                throw rethrow(e);
            }
            msg.println("c2w-net: cannot load " + opts.module() + ": " + describe(e));
            return EXIT_RUNNER;
        }
        if (!hasFunctionExport(module, "_start")) {
            msg.println("c2w-net: " + opts.module() + " has no _start export: not a WASI command module");
            return EXIT_RUNNER;
        }
        String memoryProblem = memoryProblem(module);
        if (memoryProblem != null) {
            msg.println("c2w-net: " + memoryProblem);
            return EXIT_RUNNER;
        }

        env = tuneForOurEmulator(module, env);
        int mask = systemStdio ? Terminal.ttyMask() : 0;
        WasiHost.Config cfg = new WasiHost.Config()
                .stdin(in, (mask & 1) != 0)
                .stdout(out, (mask & 2) != 0)
                .stderr(err, (mask & 4) != 0)
                .env(env)
                .sockets(sockets);
        dirs.forEach(cfg::dir);
        // argv is fixed before the host exists, but the listening fd is known in advance: 3 + directories.
        int listenFd = sockets == null ? -1 : 3 + dirs.size();
        List<String> argv = new ArrayList<>();
        argv.add(opts.module().getFileName().toString());
        List<String> guestArgs = opts.args();
        if (listenFd >= 0 && isConvertedModule(module) && !hasNetArg(guestArgs)) {
            // as upstream c2w-net: a converted module is given its network without asking
            guestArgs = new ArrayList<>(guestArgs);
            guestArgs.add(0, "--net=socket");
        }
        argv.addAll(rewriteNetArg(guestArgs, listenFd));
        cfg.args(argv);

        Terminal terminal = new Terminal();
        try (WasiHost host = new WasiHost(cfg)) {
            lastHost = host;
            if (host.listenFd() != listenFd) {
                throw new IllegalStateException(
                        "listening socket got fd " + host.listenFd() + ", expected " + listenFd);
            }
            Function<Instance, Machine> machine = null;
            if (!opts.interpret()) {
                warnIfHugeMethodsStayInterpreted();
                if (loaded.compileError() != null) {
                    throw rethrow(loaded.compileError());
                }
                machine = loaded.machine();
                lastCacheHits = loaded.cache() == null ? -1 : loaded.cache().hits();
            }
            Instance.Builder ib = Instance.builder(module)
                    .withImportValues(ImportValues.builder()
                            .withFunctions(new ArrayList<>(host.hostFunctions()))
                            .build())
                    .withMemoryFactory(FlatMemory::new)
                    .withStart(false); // Chicory would call _start itself; we call it below, on the guest thread
            if (machine != null) {
                ib.withMachineFactory(machine);
            }
            if (systemStdio && (mask & 1) != 0) {
                terminal.enterRaw();
            }
            return runOnGuestThread(
                    () -> {
                        Instance instance = ib.build();
                        ExportFunction start = instance.export("_start");
                        start.apply();
                        return 0;
                    },
                    module);
        } catch (ChicoryException e) {
            msg.println("c2w-net: cannot instantiate " + opts.module() + ": " + describe(e));
            return EXIT_RUNNER;
        } finally {
            terminal.restore();
        }
    }

    /** Chicory compiles each Wasm function to one JVM method; HotSpot leaves methods over 8 KB unJITted unless told. */
    private void warnIfHugeMethodsStayInterpreted() {
        try {
            com.sun.management.HotSpotDiagnosticMXBean hs =
                    ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
            if (hs != null
                    && "true".equals(hs.getVMOption("DontCompileHugeMethods").getValue())) {
                msg.println("c2w-net: note: the JVM was started without -XX:-DontCompileHugeMethods; large guest"
                        + " functions will run about 10x slower (the c2w-net launcher passes it)");
            }
        } catch (RuntimeException | LinkageError e) {
            // not HotSpot: nothing to say
        }
    }

    /** For tests: the host of the last embedded run. */
    WasiHost lastHost() {
        return lastHost;
    }

    /** For tests: compile-cache hits of the last embedded run (-1 without a cache). */
    int lastCacheHits() {
        return lastCacheHits;
    }

    private interface GuestMain {
        int run() throws Exception;
    }

    private int runOnGuestThread(GuestMain main, WasmModule module) {
        AtomicReference<Integer> code = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        // Compiled Wasm calls are JVM calls: give deep guest recursion a deep stack.
        Thread t = new Thread(
                null,
                () -> {
                    try {
                        code.set(main.run());
                    } catch (WasiExitException e) {
                        code.set(e.exitCode());
                    } catch (Throwable e) {
                        Throwable c = e;
                        // an exit from inside a host call may arrive wrapped
                        while (c != null && !(c instanceof WasiExitException)) {
                            c = c.getCause();
                        }
                        if (c != null) {
                            code.set(((WasiExitException) c).exitCode());
                        } else {
                            failure.set(e);
                        }
                    }
                },
                "wasi-guest",
                512L << 20);
        t.start();
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                t.interrupt();
            }
        }
        try {
            out.flush();
            err.flush();
        } catch (IOException ignored) {
            // nothing to do
        }
        Throwable f = failure.get();
        if (f == null) {
            return code.get();
        }
        if (f instanceof OutOfMemoryError) {
            msg.println("c2w-net: the JVM ran out of heap running the module (its linear memory lives on the heap): "
                    + "give the JVM more with -Xmx, e.g. JAVA_OPTS=-Xmx4g (now "
                    + mib(Runtime.getRuntime().maxMemory()) + ")");
            return EXIT_RUNNER;
        }
        if (f instanceof WasiHost.GuestInterrupted) {
            msg.println("c2w-net: guest stopped");
            return EXIT_RUNNER;
        }
        if (f instanceof UsageException) {
            msg.println("c2w-net: " + f.getMessage());
            return EXIT_RUNNER;
        }
        if (f instanceof StackOverflowError) {
            msg.println("wasm trap: call stack exhausted");
        } else if (f instanceof ChicoryException) {
            msg.println("wasm trap: " + describe(f));
        } else {
            // a bug on our side (a host function), not the guest's: show it whole
            msg.println("c2w-net: internal error while running the module:");
            f.printStackTrace(msg);
            return EXIT_RUNNER;
        }
        for (String frame : wasmStack(f, module)) {
            msg.println("  at " + frame);
        }
        return EXIT_TRAP;
    }

    private static final Pattern FUNC = Pattern.compile("func_(\\d+)");

    /** The Wasm functions on the JVM stack of {@code t} (compiled code), innermost first, at most 12. */
    static List<String> wasmStack(Throwable t, WasmModule module) {
        List<String> frames = new ArrayList<>();
        NameCustomSection names = null;
        try {
            names = module.nameSection();
        } catch (RuntimeException e) {
            // no names
        }
        for (Throwable c = t; c != null && frames.isEmpty(); c = c.getCause()) {
            for (StackTraceElement e : c.getStackTrace()) {
                Matcher m = FUNC.matcher(e.getMethodName());
                if (!m.matches()) {
                    continue;
                }
                int idx = Integer.parseInt(m.group(1));
                String name = names == null ? null : names.nameOfFunction(idx);
                frames.add("func[" + idx + "]" + (name != null ? " " + name : ""));
                if (frames.size() == 12) {
                    frames.add("...");
                    break;
                }
            }
        }
        if (frames.isEmpty()) {
            frames.add("(no Wasm stack: interpreted, or the trap came from the host)");
        }
        return frames;
    }

    private static String describe(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isEmpty() ? e.getClass().getSimpleName() : m;
    }

    /** A module written by c2w (the converter): it carries a c2w.manifest custom section. */
    static boolean isConvertedModule(WasmModule module) {
        try {
            return module.customSection(CONVERTED_MANIFEST) != null;
        } catch (RuntimeException e) {
            return false;
        }
    }

    static final String CONVERTED_MANIFEST = "c2w.manifest";

    /** Whether the module's own options (before its command) include a --net flag. */
    static boolean hasNetArg(List<String> args) {
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("--") || !a.startsWith("-")) {
                return false;
            }
            if (a.startsWith("--net") || a.startsWith("-net")) {
                return true;
            }
            if (a.equals("--entrypoint") || a.equals("-entrypoint") || a.equals("--mac") || a.equals("-mac")) {
                i++; // the option's value
            }
        }
        return false;
    }

    static boolean hasFunctionExport(WasmModule module, String name) {
        var exports = module.exportSection();
        for (int i = 0; i < exports.exportCount(); i++) {
            var e = exports.getExport(i);
            if (e.name().equals(name) && e.exportType() == ExternalType.FUNCTION) {
                return true;
            }
        }
        return false;
    }

    /** Null when the module's initial memory fits in this JVM, else the reason it does not. */
    static String memoryProblem(WasmModule module) {
        long initial = 0;
        if (module.memorySection().isPresent() && module.memorySection().get().memoryCount() > 0) {
            MemoryLimits l = module.memorySection().get().getMemory(0).limits();
            if (l.initialPages() > Memory.RUNTIME_MAX_PAGES) {
                return "the module starts with " + l.initialPages() + " pages of linear memory; at most "
                        + Memory.RUNTIME_MAX_PAGES + " (2 GiB - 64 KiB) are supported";
            }
            initial = (long) l.initialPages() * 65536;
        }
        long max = Runtime.getRuntime().maxMemory();
        if (initial > 0 && initial + (64L << 20) > max) {
            return "the module starts with " + mib(initial) + " of linear memory but the JVM heap allows " + mib(max)
                    + ": give the JVM more with -Xmx, e.g. JAVA_OPTS=-Xmx" + ((initial >> 30) + 2) + "g";
        }
        return null;
    }

    private static String mib(long bytes) {
        return (bytes >> 20) + " MiB";
    }
}
