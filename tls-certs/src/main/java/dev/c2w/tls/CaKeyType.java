package dev.c2w.tls;

import java.util.Locale;

/**
 * Key algorithm for a new CA: {@code ecdsa} (P-256, default) or {@code rsa} (2048 bits).
 *
 * <p>The key algorithm of a newly created CA (and of the leaves it signs). ECDSA P-256 is the default: small
 * keys, fast signatures, accepted by every TLS client the guest may run. RSA 2048 is there for old clients.
 * The type only matters when a CA is created; an existing CA keeps the algorithm it was made with.
 */
public enum CaKeyType {
    ECDSA("EC", "SHA256withECDSA"),
    RSA("RSA", "SHA256withRSA");

    private final String keyAlgorithm;
    private final String signatureAlgorithm;

    CaKeyType(String keyAlgorithm, String signatureAlgorithm) {
        this.keyAlgorithm = keyAlgorithm;
        this.signatureAlgorithm = signatureAlgorithm;
    }

    /** The JCA key algorithm name ("EC" or "RSA"). */
    public String keyAlgorithm() {
        return keyAlgorithm;
    }

    /** The JCA signature algorithm a key of this type signs certificates with. */
    public String signatureAlgorithm() {
        return signatureAlgorithm;
    }

    /** The type of an existing key, from its JCA algorithm name. */
    public static CaKeyType ofKeyAlgorithm(String alg) {
        if ("EC".equalsIgnoreCase(alg) || "ECDSA".equalsIgnoreCase(alg)) {
            return ECDSA;
        }
        if ("RSA".equalsIgnoreCase(alg)) {
            return RSA;
        }
        throw new IllegalArgumentException("unsupported key algorithm " + alg + " (expected EC or RSA)");
    }

    /** Parses a command-line value: "ecdsa", "ec", "p256" or "rsa" (any case). */
    public static CaKeyType parse(String s) {
        return switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "ecdsa", "ec", "p256", "p-256" -> ECDSA;
            case "rsa", "rsa2048" -> RSA;
            default ->
                throw new IllegalArgumentException("unknown CA key type '" + s + "': use ecdsa (default) or rsa");
        };
    }
}
