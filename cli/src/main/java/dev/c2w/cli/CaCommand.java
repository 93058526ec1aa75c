package dev.c2w.cli;

import dev.c2w.tls.CaStoreException;
import dev.c2w.tls.CertificateAuthority;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * The {@code ca} command with {@code export} and {@code path}.
 *
 * <pre>
 * `c2w-net ca`: the proxy CA for people and scripts.
 *   c2w-net ca export   prints the CA certificate (PEM), creating the CA on first use, e.g. to install it
 *                       into an image: c2w-net ca export > proxy.crt
 *   c2w-net ca path     prints the path of ca.crt (whether or not it exists yet)
 * Both take --ca-dir/--ca-key. A broken CA directory is reported on stderr with the remedy; exit code 1.
 * </pre>
 */
@Command(
        name = "ca",
        mixinStandardHelpOptions = true,
        description = "Show the CA whose certificates the guest's HTTPS proxy presents.",
        subcommands = {CaCommand.Export.class, CaCommand.PathCmd.class})
public final class CaCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return 2;
    }

    /** Prints the CA certificate PEM, creating the CA if there is none yet. */
    @Command(
            name = "export",
            mixinStandardHelpOptions = true,
            description = {
                "Print the CA certificate (PEM) on stdout; creates the CA on first use.",
                "Example: c2w-net ca export > proxy.crt"
            })
    static final class Export implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        CaOptions ca = new CaOptions();

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            try {
                CertificateAuthority authority = ca.loadOrCreate();
                if (authority.wasCreated()) {
                    err.println("c2w-net: created a new proxy CA in " + authority.directory());
                    err.flush();
                }
                out.print(authority.certificatePem());
                out.flush();
                return 0;
            } catch (CaStoreException e) {
                err.println("c2w-net: " + e.getMessage());
                err.flush();
                return 1;
            }
        }
    }

    /** Prints where the CA certificate lives. */
    @Command(
            name = "path",
            mixinStandardHelpOptions = true,
            description = {
                "Print the path of the CA certificate (ca.crt).",
                "Example: curl --cacert \"$(c2w-net ca path)\" ..."
            })
    static final class PathCmd implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        CaOptions ca = new CaOptions();

        @Override
        public Integer call() {
            Path cert = ca.caDirectory().resolve(CertificateAuthority.CERT_FILE);
            spec.commandLine().getOut().println(cert);
            spec.commandLine().getOut().flush();
            if (!Files.exists(cert)) {
                spec.commandLine()
                        .getErr()
                        .println("c2w-net: (not created yet; `c2w-net ca export` or the first run creates it)");
                spec.commandLine().getErr().flush();
            }
            return 0;
        }
    }
}
