package dev.c2w.wasi;

import static dev.c2w.wasi.HostImports.CHICORY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.dylibso.chicory.runtime.HostFunction;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Memory;
import com.dylibso.chicory.runtime.WasmFunctionHandle;
import com.dylibso.chicory.wasm.types.FunctionType;
import com.dylibso.chicory.wasm.types.ValType;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** How {@link HostImports} turns registrations and a list of stand-in "Chicory" functions into the import list. */
class HostImportsTest {
    static final FunctionType I32X2 = FunctionType.of(List.of(ValType.I32, ValType.I32), List.of(ValType.I32));
    static final FunctionType SEEK =
            FunctionType.of(List.of(ValType.I32, ValType.I64, ValType.I32, ValType.I32), List.of(ValType.I32));

    final Instance inst = WasiHostTest.onePageInstance();
    /** What the stand-in Chicory functions were called with, "name args..." per call. */
    final List<String> chicoryCalls = new ArrayList<>();

    final AtomicReference<long[]> lastArgs = new AtomicReference<>();
    final AtomicReference<long[]> lastResult = new AtomicReference<>();

    /** A stand-in for one of Chicory's functions: records the call and answers {@code errno}. */
    HostFunction chicory(String name, FunctionType type, int errno) {
        WasmFunctionHandle h = (i, a) -> {
            StringBuilder b = new StringBuilder(name);
            for (long x : a) {
                b.append(' ').append(x);
            }
            chicoryCalls.add(b.toString());
            lastArgs.set(a);
            lastResult.set(new long[] {errno});
            return lastResult.get();
        };
        return new HostFunction("wasi_snapshot_preview1", name, type, h);
    }

    static HostFunction find(List<HostFunction> fns, String name) {
        return fns.stream().filter(f -> f.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void aDefinedImportGetsItsArgumentsTypedAndChicorysIsNotCalled() {
        HostImports t = new HostImports("wasi_snapshot_preview1", fd -> false);
        List<String> seen = new ArrayList<>();
        t.define("clock_time_get", HostImports.I32_I64_I32, (m, id, precision, out) -> {
            seen.add(id + " " + precision + " " + out);
            m.writeLong(out, 42);
            return 7;
        });
        FunctionType clockType = FunctionType.of(List.of(ValType.I32, ValType.I64, ValType.I32), List.of(ValType.I32));
        List<HostFunction> fns = t.build(new HostFunction[] {chicory("clock_time_get", clockType, 0)});
        long[] r = find(fns, "clock_time_get").handle().apply(inst, 1, 1L << 40, 64);
        assertThat(r).containsExactly(7);
        assertThat(seen).containsExactly("1 " + (1L << 40) + " 64");
        assertThat(inst.memory().readLong(64)).isEqualTo(42);
        assertThat(chicoryCalls).isEmpty();
        assertThat(fns.get(0).module()).isEqualTo("wasi_snapshot_preview1");
        assertThat(fns.get(0).functionType()).isEqualTo(clockType);
    }

    @Test
    void aWrappedImportFallsToChicoryWithTheSameArgumentsAndAnswer() {
        HostImports t = new HostImports("wasi_snapshot_preview1", fd -> false);
        t.wrap("fd_close", HostImports.I32X1, (m, fd) -> fd == 5 ? 0 : CHICORY);
        HostFunction c = chicory("fd_close", FunctionType.of(List.of(ValType.I32), List.of(ValType.I32)), 8);
        WasmFunctionHandle h = t.build(new HostFunction[] {c}).get(0).handle();
        assertThat(h.apply(inst, 5)).containsExactly(0);
        assertThat(chicoryCalls).isEmpty();
        long[] args = {6};
        assertThat(h.apply(inst, args)).containsExactly(8).isSameAs(lastResult.get());
        assertThat(lastArgs.get()).isSameAs(args);
        assertThat(chicoryCalls).containsExactly("fd_close 6");
    }

    @Test
    void theStepAfterChicoryRunsOnlyWhenChicorySucceeded() {
        List<String> then = new ArrayList<>();
        HostImports.Ints2 ours = (m, fd, out) -> fd == 3 ? 0 : CHICORY;
        HostImports.Ints2 after = (m, fd, out) -> {
            then.add(fd + " " + out);
            return fd == 9 ? 76 : 0;
        };
        HostImports ok = new HostImports("wasi_snapshot_preview1", fd -> false);
        ok.wrap("fd_fdstat_get", HostImports.I32X2, ours, after);
        WasmFunctionHandle h = ok.build(new HostFunction[] {chicory("fd_fdstat_get", I32X2, 0)})
                .get(0)
                .handle();
        assertThat(h.apply(inst, 3, 64)).containsExactly(0);
        assertThat(then).isEmpty();
        assertThat(h.apply(inst, 0, 64)).containsExactly(0);
        assertThat(then).containsExactly("0 64");
        assertThat(h.apply(inst, 9, 64)).as("its errno is the answer").containsExactly(76);

        HostImports failing = new HostImports("wasi_snapshot_preview1", fd -> false);
        failing.wrap("fd_fdstat_get", HostImports.I32X2, ours, after);
        WasmFunctionHandle g = failing.build(new HostFunction[] {chicory("fd_fdstat_get", I32X2, 8)})
                .get(0)
                .handle();
        then.clear();
        assertThat(g.apply(inst, 0, 64)).containsExactly(8);
        assertThat(then).isEmpty();
    }

    @Test
    void aGuardAnswersForASocketAtItsPositionsAndLeavesEverythingElseToChicory() {
        HostImports t = new HostImports("wasi_snapshot_preview1", fd -> fd == 3);
        t.guard("fd_seek", 70, 0);
        t.guard("fd_renumber", 58, 0, 1);
        List<HostFunction> fns =
                t.build(new HostFunction[] {chicory("fd_seek", SEEK, 0), chicory("fd_renumber", I32X2, 0)});
        assertThat(find(fns, "fd_seek").handle().apply(inst, 3, 3, 0, 8)).containsExactly(70);
        assertThat(find(fns, "fd_renumber").handle().apply(inst, 1, 3)).containsExactly(58);
        assertThat(chicoryCalls).isEmpty();
        assertThat(find(fns, "fd_seek").handle().apply(inst, 4, 3, 0, 8))
                .as("3 is the offset here")
                .containsExactly(0);
        assertThat(find(fns, "fd_renumber").handle().apply(inst, 1, 2)).containsExactly(0);
        assertThat(chicoryCalls).containsExactly("fd_seek 4 3 0 8", "fd_renumber 1 2");
        assertThat(find(fns, "fd_seek").functionType()).isEqualTo(SEEK);
    }

    @Test
    void unregisteredFunctionsWithoutAnFdPassThroughInChicorysOrder() {
        HostImports t = new HostImports("wasi_snapshot_preview1", fd -> true);
        t.guard("fd_sync", 58, 0);
        HostFunction random = chicory("random_get", I32X2, 0);
        HostFunction args = chicory("args_get", I32X2, 0);
        HostFunction sync = chicory("fd_sync", FunctionType.of(List.of(ValType.I32), List.of(ValType.I32)), 0);
        List<HostFunction> fns = t.build(new HostFunction[] {random, sync, args});
        assertThat(fns).extracting(HostFunction::name).containsExactly("random_get", "fd_sync", "args_get");
        assertThat(fns.get(0).handle()).isSameAs(random.handle());
        assertThat(fns.get(2).handle()).isSameAs(args.handle());
    }

    @Test
    void mistakesInTheTableAreRefusedWhenTheListIsBuilt() {
        HostImports wrongType = new HostImports("m", fd -> false);
        wrongType.define("sock_shutdown", HostImports.I32X3, (m, a, b, c) -> 0);
        assertThatThrownBy(() -> wrongType.build(new HostFunction[] {chicory("sock_shutdown", I32X2, 0)}))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("sock_shutdown is registered as");

        HostImports unknown = new HostImports("m", fd -> false);
        unknown.define("sock_listen", HostImports.I32X2, (m, a, b) -> 0);
        assertThatThrownBy(() -> unknown.build(new HostFunction[0]))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("sock_listen");

        HostImports unguarded = new HostImports("m", fd -> false);
        assertThatThrownBy(() -> unguarded.build(new HostFunction[] {chicory("path_open", I32X2, 0)}))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("path_open takes an fd");

        HostImports notAnFd = new HostImports("m", fd -> false);
        notAnFd.guard("fd_seek", 70, 1);
        assertThatThrownBy(() -> notAnFd.build(new HostFunction[] {chicory("fd_seek", SEEK, 0)}))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("no i32 argument 1");

        HostImports pastTheEnd = new HostImports("m", fd -> false);
        pastTheEnd.guard("fd_tell", 70, 2);
        assertThatThrownBy(() -> pastTheEnd.build(new HostFunction[] {chicory("fd_tell", I32X2, 0)}))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("no i32 argument 2");

        HostImports twice = new HostImports("m", fd -> false);
        twice.guard("fd_tell", 70, 0);
        assertThatThrownBy(() -> twice.guard("fd_tell", 70, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aDefinedImportThatAnswersChicoryIsABug() {
        HostImports t = new HostImports("m", fd -> false);
        t.define("sched_yield", HostImports.I32X1, (Memory m, int a) -> CHICORY);
        WasmFunctionHandle h = t.build(new HostFunction[] {
                    chicory("sched_yield", FunctionType.of(List.of(ValType.I32), List.of(ValType.I32)), 0)
                })
                .get(0)
                .handle();
        assertThatThrownBy(() -> h.apply(inst, 0)).isInstanceOf(IllegalStateException.class);
        assertThat(chicoryCalls).isEmpty();
    }

    @Test
    void theSignaturesAreTheWasmOnes() {
        assertThat(HostImports.I32X1.type).hasToString("(I32) -> (I32)");
        assertThat(HostImports.I32X6.type).hasToString("(I32,I32,I32,I32,I32,I32) -> (I32)");
        assertThat(HostImports.I32_I64_I32.type).hasToString("(I32,I64,I32) -> (I32)");
    }
}
