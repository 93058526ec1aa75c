package dev.c2w.wasi;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * Options of {@code c2w-net --invoke}, as a picocli mixin (mount with {@code @Mixin}). The module and its
 * arguments are the command's positionals: the CLI sets them with {@link #module(Path, List)}.
 */
public final class InvokeOptions {
    /** Which WASI runtime runs the module. */
    public enum Engine {
        /** Chicory inside this JVM, socket wired to the network in-process (default). */
        embedded,
        /** An installed wasmtime, reached over a loopback TCP listener, exactly as upstream c2w-net does. */
        wasmtime
    }

    @Option(
            names = "--runtime",
            paramLabel = "embedded|wasmtime",
            defaultValue = "embedded",
            description =
                    "WASI runtime: embedded (Chicory in this JVM, default) or wasmtime (an installed wasmtime, as upstream).")
    Engine runtime = Engine.embedded;

    @Option(
            names = "--interpret",
            description =
                    "Embedded runtime: interpret the module instead of compiling it to JVM bytecode (slow; for debugging).")
    boolean interpret;

    @Option(
            names = "--dir",
            paramLabel = "HOST[::GUEST]",
            description = "Pre-open a host directory (as GUEST in the guest; default: the same path). Repeatable.")
    List<String> dirs = new ArrayList<>();

    @Option(
            names = {"--mapdir", "-mapdir"},
            paramLabel = "GUEST::HOST",
            description = "Pre-open host directory HOST as GUEST (upstream's syntax). Repeatable.")
    List<String> mapdirs = new ArrayList<>();

    @Option(
            names = {"--env", "-env"},
            paramLabel = "KEY=VALUE",
            description = "Environment variable for the guest. Repeatable.")
    List<String> env = new ArrayList<>();

    @Option(
            names = {"--wasi-addr", "-wasi-addr"},
            paramLabel = "HOST:PORT",
            defaultValue = "127.0.0.1:1234",
            description =
                    "--runtime wasmtime: the loopback address wasmtime listens on for the stack (default ${DEFAULT-VALUE}).")
    String wasiAddr = "127.0.0.1:1234";

    @Option(
            names = {"--wasmtime-cli-13", "-wasmtime-cli-13"},
            description = "--runtime wasmtime: use the command-line syntax of wasmtime 13 and older.")
    boolean wasmtimeCli13;

    @Option(
            names = "--wasmtime",
            paramLabel = "PATH",
            defaultValue = "wasmtime",
            description = "--runtime wasmtime: the wasmtime executable (default: wasmtime on PATH).")
    String wasmtime = "wasmtime";

    @Option(
            names = "--compile-cache",
            paramLabel = "DIR",
            description = "Where compiled modules are cached (default: $XDG_CACHE_HOME/c2w-java or ~/.cache/c2w-java).")
    Path cacheDir;

    @Option(names = "--no-compile-cache", description = "Compile the module afresh and do not store the result.")
    boolean noCache;

    private Path module;
    private List<String> args = new ArrayList<>();

    /** Sets the module and the guest's arguments (argv[1..]). */
    public InvokeOptions module(Path module, List<String> guestArgs) {
        this.module = module;
        this.args = new ArrayList<>(guestArgs);
        return this;
    }

    /** Sets the module and arguments from the positionals: module first, then the guest's arguments. */
    public InvokeOptions positionals(List<String> positionals) {
        if (positionals == null || positionals.isEmpty()) {
            throw new IllegalArgumentException(
                    "--invoke needs the module: c2w-net --invoke [options] out.wasm [ARGS...]");
        }
        return module(Path.of(positionals.get(0)), positionals.subList(1, positionals.size()));
    }

    public Path module() {
        return module;
    }

    public List<String> args() {
        return args;
    }

    public Engine runtime() {
        return runtime;
    }

    public boolean interpret() {
        return interpret;
    }

    public List<String> dirs() {
        return dirs;
    }

    public List<String> mapdirs() {
        return mapdirs;
    }

    public List<String> env() {
        return env;
    }

    public String wasiAddr() {
        return wasiAddr;
    }

    public boolean wasmtimeCli13() {
        return wasmtimeCli13;
    }

    public String wasmtime() {
        return wasmtime;
    }

    public Path cacheDir() {
        return cacheDir;
    }

    public boolean noCache() {
        return noCache;
    }

    public InvokeOptions runtime(Engine r) {
        this.runtime = r;
        return this;
    }

    public InvokeOptions interpret(boolean v) {
        this.interpret = v;
        return this;
    }

    public InvokeOptions dir(String spec) {
        this.dirs.add(spec);
        return this;
    }

    public InvokeOptions mapdir(String spec) {
        this.mapdirs.add(spec);
        return this;
    }

    public InvokeOptions env(String kv) {
        this.env.add(kv);
        return this;
    }

    public InvokeOptions wasiAddr(String a) {
        this.wasiAddr = a;
        return this;
    }

    public InvokeOptions wasmtimeCli13(boolean v) {
        this.wasmtimeCli13 = v;
        return this;
    }

    public InvokeOptions wasmtime(String path) {
        this.wasmtime = path;
        return this;
    }

    public InvokeOptions cacheDir(Path d) {
        this.cacheDir = d;
        return this;
    }

    public InvokeOptions noCache(boolean v) {
        this.noCache = v;
        return this;
    }
}
