package dev.c2w.cli;

import dev.c2w.tls.CaKeyType;
import dev.c2w.tls.CertificateAuthority;
import java.nio.file.Path;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;

/**
 * --ca-dir and --ca-key.
 *
 * <p>The options that say where the proxy CA lives and what kind of key a new one gets. A picocli mixin shared
 * by ProxyOptions (the c2w-net run options) and CaCommand (c2w-net ca export|path), so both always agree on
 * the directory.
 */
public final class CaOptions {
    @Option(
            names = "--ca-dir",
            paramLabel = "DIR",
            description = {
                "Directory of the proxy CA (ca.crt and ca.key, created on first use and reused after).",
                "Default: $XDG_DATA_HOME/c2w-net/ca, else ~/.local/share/c2w-net/ca.",
                "Example: --ca-dir ~/.config/my-ca"
            })
    Path caDir;

    @Option(
            names = "--ca-key",
            paramLabel = "TYPE",
            converter = KeyTypeConverter.class,
            defaultValue = "ecdsa",
            description = {
                "Key type for a NEW CA: ecdsa (P-256, default) or rsa (2048 bits).",
                "An existing CA keeps its key. Example: --ca-key rsa"
            })
    CaKeyType caKey = CaKeyType.ECDSA;

    /** The CA directory in effect (the option, or the default). */
    public Path caDirectory() {
        return caDir != null ? caDir : CertificateAuthority.defaultDirectory();
    }

    public CaKeyType caKeyType() {
        return caKey;
    }

    /** Loads the CA, creating it on first use. Throws CaStoreException with a remedy when the directory is unusable. */
    public CertificateAuthority loadOrCreate() {
        return CertificateAuthority.loadOrCreate(caDirectory(), caKey);
    }

    /** picocli converter for --ca-key. */
    static final class KeyTypeConverter implements ITypeConverter<CaKeyType> {
        @Override
        public CaKeyType convert(String value) {
            return CaKeyType.parse(value);
        }
    }
}
