package dev.c2w.cli.invoke;

import dev.c2w.netstack.VirtualNetwork;
import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.host.HostTransport;
import dev.c2w.wasi.InvokeOptions;
import dev.c2w.wasi.WasiRunner;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * A stand-alone entry to the WASI runner (benchmarks, debugging, the tests' child JVMs): the same options
 * as {@code c2w-net --invoke}, with a default network (no port forwards) unless --no-net. The real CLI
 * mounts {@link InvokeOptions} in {@code dev.c2w.cli.C2wNet} and passes its own network.
 */
@Command(
        name = "c2w-wasi",
        mixinStandardHelpOptions = true,
        description = "Run a WASI module on the embedded runtime, its socket on an in-process network.")
public final class WasiMain implements Callable<Integer> {
    @Mixin
    InvokeOptions invoke = new InvokeOptions();

    @Option(names = "--no-net", description = "No network and no listening socket.")
    boolean noNet;

    @Parameters(paramLabel = "MODULE [ARGS...]", arity = "1..*")
    List<String> positionals = new ArrayList<>();

    @Override
    public Integer call() {
        invoke.positionals(positionals);
        if (noNet) {
            return NetworkedInvoke.run(new WasiRunner(), invoke, null);
        }
        try (HostTransport host = HostTransport.create();
                VirtualNetwork net =
                        VirtualNetwork.create(NetworkConfig.builder().build(), host, null)) {
            return NetworkedInvoke.run(new WasiRunner(), invoke, net);
        }
    }

    public static void main(String[] args) {
        int code = new CommandLine(new WasiMain())
                .setStopAtPositional(true)
                .setUnmatchedOptionsArePositionalParams(true)
                .execute(args);
        System.exit(code);
    }
}
