package dev.c2w.tls;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * A leaf certificate for one host name or IP, its key, and the chain a TLS server presents.
 *
 * <p>One minted server certificate with its private key and the chain to present (leaf, then CA). Immutable.
 */
public record LeafCertificate(
        String host, X509Certificate certificate, PrivateKey privateKey, List<X509Certificate> chain) {
    public LeafCertificate {
        chain = List.copyOf(chain);
    }

    /** The chain as an array (leaf first), the shape TLS libraries take. */
    public X509Certificate[] chainArray() {
        return chain.toArray(new X509Certificate[0]);
    }
}
