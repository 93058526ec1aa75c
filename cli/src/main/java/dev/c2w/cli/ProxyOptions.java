package dev.c2w.cli;

import dev.c2w.netstack.host.HostTransport;
import dev.c2w.proxy.HostPolicy;
import dev.c2w.proxy.ProxyConfig;
import dev.c2w.tls.CaStoreException;
import dev.c2w.tls.CertificateAuthority;
import dev.c2w.tls.LeafCertificates;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Proxy options for c2w-net (mixin).
 *
 * <p>The proxy's command-line options, as a picocli mixin the c2w-net command mounts:
 * --ca-dir, --ca-key (through CaOptions), --upstream-ca, --allow-host, --deny-host.
 * buildConfig() turns them into a ProxyConfig (loading or creating the CA, reading the upstream CA files,
 * checking the host patterns), reporting any problem as a picocli ParameterException that names the option.
 */
public final class ProxyOptions {
    @Spec(Spec.Target.MIXEE)
    CommandSpec mixee;

    @Mixin
    CaOptions ca = new CaOptions();

    @Option(
            names = "--upstream-ca",
            paramLabel = "FILE",
            description = {
                "Also trust the CA certificate(s) in this PEM file when the proxy connects to origin",
                "servers over TLS (the JDK's trusted CAs are always trusted). Repeatable.",
                "Example: --upstream-ca /etc/ssl/corp-root.pem"
            })
    List<Path> upstreamCa = new ArrayList<>();

    @Option(
            names = "--allow-host",
            paramLabel = "PATTERN",
            description = {
                "Only let the guest reach hosts matching one of these patterns through the proxy.",
                "PATTERN is a name (example.com), a wildcard for names under a domain (*.example.com),",
                "an IP address, or *. Repeatable; default: every host.",
                "Example: --allow-host '*.debian.org' --allow-host deb.debian.org"
            })
    List<String> allowHost = new ArrayList<>();

    @Option(
            names = "--deny-host",
            paramLabel = "PATTERN",
            description = {
                "Refuse (HTTP 403) hosts matching this pattern; wins over --allow-host. Repeatable.",
                "Example: --deny-host '*.tracker.example' --deny-host 169.254.169.254"
            })
    List<String> denyHost = new ArrayList<>();

    public CaOptions caOptions() {
        return ca;
    }

    /** The host policy from --allow-host/--deny-host. */
    public HostPolicy policy() {
        try {
            return new HostPolicy(allowHost, denyHost);
        } catch (IllegalArgumentException e) {
            throw parameterError(e.getMessage());
        }
    }

    /**
     * A builder with the CA, upstream CAs and policy filled in, upstream channels on {@code transport}.
     * The caller may still set the proxy address, resolver, executor and limits.
     */
    public ProxyConfig.Builder configBuilder(HostTransport transport) {
        HostPolicy policy = policy();
        CertificateAuthority authority;
        try {
            authority = ca.loadOrCreate();
        } catch (CaStoreException e) {
            throw parameterError(e.getMessage());
        }
        ProxyConfig.Builder b = ProxyConfig.builder()
                .leaves(new LeafCertificates(authority))
                .transport(transport)
                .policy(policy);
        for (Path p : upstreamCa) {
            try {
                b.addUpstreamCas(ProxyConfig.readCertificates(p));
            } catch (IllegalArgumentException e) {
                throw parameterError("--upstream-ca: " + e.getMessage());
            }
        }
        return b;
    }

    /** The complete ProxyConfig with defaults for everything these options do not cover. */
    public ProxyConfig buildConfig(HostTransport transport) {
        return configBuilder(transport).build();
    }

    private RuntimeException parameterError(String message) {
        if (mixee != null) {
            return new CommandLine.ParameterException(mixee.commandLine(), message);
        }
        return new IllegalArgumentException(message);
    }
}
