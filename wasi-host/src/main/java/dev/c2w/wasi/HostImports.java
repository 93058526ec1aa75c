package dev.c2w.wasi;

import static dev.c2w.wasi.WasiAbi.SUCCESS;

import com.dylibso.chicory.runtime.HostFunction;
import com.dylibso.chicory.runtime.Memory;
import com.dylibso.chicory.runtime.WasmFunctionHandle;
import com.dylibso.chicory.wasm.types.FunctionType;
import com.dylibso.chicory.wasm.types.ValType;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntPredicate;
import java.util.function.UnaryOperator;

/**
 * The import list handed to Chicory, made from Chicory's own WASI functions and the registrations here.
 * Chicory links the first function matching an import's module and name, so the list keeps Chicory's
 * names and order, and each function in it is one of:
 * <ul>
 *   <li>ours instead of Chicory's ({@link #define});</li>
 *   <li>ours first ({@link #wrap}): our code answers, or returns {@link #CHICORY} to let Chicory's function
 *       answer with the same arguments; optionally a step of ours runs after Chicory's succeeded;</li>
 *   <li>Chicory's behind a guard ({@link #guard}): a socket fd in one of the named argument positions gets a
 *       fixed errno and never reaches Chicory;</li>
 *   <li>Chicory's as it is: every function registered nowhere (args, environment, random, proc_exit, ...).
 *       A function taking an fd ({@code fd_*}, {@code path_*}) must be registered, so that a Chicory with
 *       more of them cannot let a socket fd through unnoticed.</li>
 * </ul>
 *
 * <p>Our code is typed. A {@link Sig} is a Wasm signature (i32 and i64 parameters, one i32 errno result)
 * together with the Java shape implementing it, e.g. {@link #I32X4} and {@link Ints4}
 * {@code (memory, a0, a1, a2, a3) -> errno}; the Sig is the one place where the raw {@code long[]}
 * arguments become Java parameters. The Sig an import is registered with is its signature: {@link #build}
 * checks it against Chicory's for the same name and refuses a mismatch, a name Chicory does not have, or a
 * guard position that is not an i32 parameter.
 *
 * <p>Per call, a handle here adds no allocation to what the code behind it does: the errno goes back in a
 * one-element array, as Chicory's own functions return it, and Chicory's answer is passed on as it came.
 */
final class HostImports {
    /** What the code of a {@link #wrap}ped import returns to let Chicory's function answer. */
    static final int CHICORY = -1;

    // Each Sig spells its argument conversion twice: in the handle, so that every Sig has a handle class of
    // its own (the JIT then inlines the one or two functions behind it instead of dispatching through a
    // shared call site), and in the invoker, for the step after Chicory's answer.
    static final Sig<Ints1> I32X1 = new Sig<>(ints(1), (f, m, a) -> f.call(m, (int) a[0]), (f, orElse) -> (inst, a) -> {
        int e = f.call(inst.memory(), (int) a[0]);
        return e != CHICORY ? errno(e) : orElse.apply(inst, a);
    });
    static final Sig<Ints2> I32X2 =
            new Sig<>(ints(2), (f, m, a) -> f.call(m, (int) a[0], (int) a[1]), (f, orElse) -> (inst, a) -> {
                int e = f.call(inst.memory(), (int) a[0], (int) a[1]);
                return e != CHICORY ? errno(e) : orElse.apply(inst, a);
            });
    static final Sig<Ints3> I32X3 =
            new Sig<>(ints(3), (f, m, a) -> f.call(m, (int) a[0], (int) a[1], (int) a[2]), (f, orElse) -> (inst, a) -> {
                int e = f.call(inst.memory(), (int) a[0], (int) a[1], (int) a[2]);
                return e != CHICORY ? errno(e) : orElse.apply(inst, a);
            });
    static final Sig<Ints4> I32X4 = new Sig<>(
            ints(4),
            (f, m, a) -> f.call(m, (int) a[0], (int) a[1], (int) a[2], (int) a[3]),
            (f, orElse) -> (inst, a) -> {
                int e = f.call(inst.memory(), (int) a[0], (int) a[1], (int) a[2], (int) a[3]);
                return e != CHICORY ? errno(e) : orElse.apply(inst, a);
            });
    static final Sig<Ints5> I32X5 = new Sig<>(
            ints(5),
            (f, m, a) -> f.call(m, (int) a[0], (int) a[1], (int) a[2], (int) a[3], (int) a[4]),
            (f, orElse) -> (inst, a) -> {
                int e = f.call(inst.memory(), (int) a[0], (int) a[1], (int) a[2], (int) a[3], (int) a[4]);
                return e != CHICORY ? errno(e) : orElse.apply(inst, a);
            });
    static final Sig<Ints6> I32X6 = new Sig<>(
            ints(6),
            (f, m, a) -> f.call(m, (int) a[0], (int) a[1], (int) a[2], (int) a[3], (int) a[4], (int) a[5]),
            (f, orElse) -> (inst, a) -> {
                int e = f.call(inst.memory(), (int) a[0], (int) a[1], (int) a[2], (int) a[3], (int) a[4], (int) a[5]);
                return e != CHICORY ? errno(e) : orElse.apply(inst, a);
            });
    static final Sig<IntLongInt> I32_I64_I32 = new Sig<>(
            FunctionType.of(List.of(ValType.I32, ValType.I64, ValType.I32), List.of(ValType.I32)),
            (f, m, a) -> f.call(m, (int) a[0], a[1], (int) a[2]),
            (f, orElse) -> (inst, a) -> {
                int e = f.call(inst.memory(), (int) a[0], a[1], (int) a[2]);
                return e != CHICORY ? errno(e) : orElse.apply(inst, a);
            });

    /** The fallback of a {@link #define}d import: its code never returns {@link #CHICORY}. */
    private static final WasmFunctionHandle NO_FALLBACK = (inst, a) -> {
        throw new IllegalStateException("a host function of ours answered CHICORY but has no Chicory fallback");
    };

    private final String module;
    private final IntPredicate isSocket;
    private final Map<String, Entry> entries = new LinkedHashMap<>();

    @FunctionalInterface
    interface Ints1 {
        int call(Memory m, int a0);
    }

    @FunctionalInterface
    interface Ints2 {
        int call(Memory m, int a0, int a1);
    }

    @FunctionalInterface
    interface Ints3 {
        int call(Memory m, int a0, int a1, int a2);
    }

    @FunctionalInterface
    interface Ints4 {
        int call(Memory m, int a0, int a1, int a2, int a3);
    }

    @FunctionalInterface
    interface Ints5 {
        int call(Memory m, int a0, int a1, int a2, int a3, int a4);
    }

    @FunctionalInterface
    interface Ints6 {
        int call(Memory m, int a0, int a1, int a2, int a3, int a4, int a5);
    }

    @FunctionalInterface
    interface IntLongInt {
        int call(Memory m, int a0, long a1, int a2);
    }

    /** Calls a Sig's Java shape with the raw arguments. */
    @FunctionalInterface
    private interface Invoker<F> {
        int invoke(F f, Memory m, long[] a);
    }

    /** Makes the handle of a Sig's Java shape: it answers, or calls {@code orElse} where the code returns {@link #CHICORY}. */
    @FunctionalInterface
    private interface Adapter<F> {
        WasmFunctionHandle handle(F f, WasmFunctionHandle orElse);
    }

    /** A Wasm signature and the Java functional interface {@code F} that implements it. */
    static final class Sig<F> {
        final FunctionType type;
        private final Invoker<F> invoker;
        private final Adapter<F> adapter;

        private Sig(FunctionType type, Invoker<F> invoker, Adapter<F> adapter) {
            this.type = type;
            this.invoker = invoker;
            this.adapter = adapter;
        }

        /** Calls {@code f} with the raw arguments {@code a}. */
        int call(F f, Memory m, long[] a) {
            return invoker.invoke(f, m, a);
        }

        /** The handle Chicory calls: {@code f}'s errno, or {@code orElse}'s answer where f returns {@link #CHICORY}. */
        WasmFunctionHandle handle(F f, WasmFunctionHandle orElse) {
            return adapter.handle(f, orElse);
        }
    }

    /** One registration: the signature it declares (null: Chicory's) and how it wraps Chicory's handle. */
    @SuppressWarnings("ArrayRecordComponent") // never compared or hashed
    private record Entry(FunctionType type, int[] fdArgs, UnaryOperator<WasmFunctionHandle> handle) {}

    /** @param isSocket tells whether an fd is one of our sockets, for the guards */
    HostImports(String module, IntPredicate isSocket) {
        this.module = module;
        this.isSocket = isSocket;
    }

    private static FunctionType ints(int n) {
        return FunctionType.of(Collections.nCopies(n, ValType.I32), List.of(ValType.I32));
    }

    private static long[] errno(int e) {
        return new long[] {e};
    }

    private void add(String name, Entry e) {
        if (entries.putIfAbsent(name, e) != null) {
            throw new IllegalArgumentException(name + " is registered twice");
        }
    }

    /** {@code name} is ours: {@code f} answers every call, Chicory's function is not called. */
    <F> void define(String name, Sig<F> sig, F f) {
        add(name, new Entry(sig.type, null, chicory -> sig.handle(f, NO_FALLBACK)));
    }

    /** {@code f} answers first; where it returns {@link #CHICORY}, Chicory's function answers the same call. */
    <F> void wrap(String name, Sig<F> sig, F f) {
        add(name, new Entry(sig.type, null, chicory -> sig.handle(f, chicory)));
    }

    /**
     * As the wrap above; and when Chicory's function answered SUCCESS, {@code then} runs with the same
     * arguments and its errno is the answer (Chicory's own result when that is SUCCESS too).
     */
    <F> void wrap(String name, Sig<F> sig, F f, F then) {
        add(
                name,
                new Entry(
                        sig.type,
                        null,
                        chicory -> sig.handle(f, (inst, a) -> {
                            long[] res = chicory.apply(inst, a);
                            if (res[0] != SUCCESS) {
                                return res;
                            }
                            int t = sig.call(then, inst.memory(), a);
                            return t == SUCCESS ? res : errno(t);
                        })));
    }

    /** Chicory's {@code name}, except that a socket fd at any of {@code fdArgs} (argument positions) gets {@code errno}. */
    void guard(String name, int errno, int... fdArgs) {
        int[] fds = fdArgs.clone();
        add(name, new Entry(null, fds, chicory -> (inst, a) -> {
            for (int i : fds) {
                if (isSocket.test((int) a[i])) {
                    return errno(errno);
                }
            }
            return chicory.apply(inst, a);
        }));
    }

    /** The list for Chicory: {@code chicory}'s functions in their order, each with what was registered for it. */
    List<HostFunction> build(HostFunction[] chicory) {
        List<HostFunction> out = new ArrayList<>(chicory.length);
        Set<String> used = new HashSet<>();
        for (HostFunction f : chicory) {
            String name = f.name();
            Entry e = entries.get(name);
            if (e == null) {
                if (name.startsWith("fd_") || name.startsWith("path_")) {
                    throw new IllegalStateException("Chicory's " + name + " takes an fd but is neither ours nor"
                            + " guarded: a socket fd would reach it");
                }
                out.add(new HostFunction(module, name, f.functionType(), f.handle()));
                continue;
            }
            used.add(name);
            FunctionType type = f.functionType();
            if (e.type() != null && !e.type().equals(type)) {
                throw new IllegalStateException(name + " is registered as " + e.type() + " but is " + type);
            }
            if (e.fdArgs() != null) {
                for (int i : e.fdArgs()) {
                    if (i < 0
                            || i >= type.params().size()
                            || !type.params().get(i).equals(ValType.I32)) {
                        throw new IllegalStateException(name + " " + type + " has no i32 argument " + i);
                    }
                }
            }
            out.add(new HostFunction(module, name, type, e.handle().apply(f.handle())));
        }
        for (String name : entries.keySet()) {
            if (!used.contains(name)) {
                throw new IllegalStateException(name + " is registered but Chicory has no such function");
            }
        }
        return out;
    }
}
