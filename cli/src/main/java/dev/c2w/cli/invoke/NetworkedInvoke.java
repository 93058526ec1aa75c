package dev.c2w.cli.invoke;

import dev.c2w.netstack.VirtualNetwork;
import dev.c2w.wasi.InvokeOptions;
import dev.c2w.wasi.WasiRunner;

/** c2w-net's way to run a module: the WASI runner with its socket on the virtual network, or wasmtime dialling it. */
public final class NetworkedInvoke {
    private NetworkedInvoke() {}

    /** Runs {@code opts} with the guest's socket on {@code net} (null: no socket). */
    public static int run(WasiRunner runner, InvokeOptions opts, VirtualNetwork net, WasiRunner.Preload preload) {
        return runner.external(o -> new WasmtimeLauncher(runner.messages()).run(o, net))
                .run(opts, net == null ? null : InProcessLink.backend(net), preload);
    }

    /** The same, the module read here. */
    public static int run(WasiRunner runner, InvokeOptions opts, VirtualNetwork net) {
        return run(runner, opts, net, null);
    }
}
