package dev.c2w.proxy;

import dev.c2w.tls.LeafCertificate;
import dev.c2w.tls.LeafCertificates;
import dev.c2w.tls.SingleFlightCache;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * Server contexts per host (minted leaves) and the upstream client context. Thread-safe.
 *
 * <p>The TLS contexts the proxy uses.
 *
 * <p>Server side (towards the guest): one SslContext per host name, built from the leaf LeafCertificates mints
 * for it and cached in a bounded single-flight LRU, so a burst of connections to one host builds one
 * context and mints one leaf. forHost() never blocks the caller: the work runs on the blocking executor and
 * the answer comes back as a promise on the caller's event loop (the shape SniHandler's AsyncMapping wants).
 *
 * <p>Client side (towards origins): one SslContext trusting the JDK's default CAs (unless disabled) plus every
 * --upstream-ca certificate, with HTTPS endpoint identification (the host name or IP is checked against the
 * certificate). SNI is set per connection by UpstreamPool.
 */
final class TlsContexts {
    private final LeafCertificates leaves;
    private final Executor blocking;
    private final SingleFlightCache<String, SslContext> servers;
    private final SslContext client;

    TlsContexts(ProxyConfig config, Executor blocking) {
        this.leaves = config.leaves();
        this.blocking = blocking;
        this.servers = new SingleFlightCache<>(LeafCertificates.DEFAULT_CACHE_SIZE);
        this.client = buildClient(config);
    }

    SslContext client() {
        return client;
    }

    /** The server context for {@code host}, built on the blocking executor; fails for invalid names. */
    Future<SslContext> forHost(String host, EventExecutor loop) {
        Promise<SslContext> p = loop.newPromise();
        try {
            blocking.execute(() -> {
                try {
                    p.trySuccess(forHostBlocking(host));
                } catch (Throwable t) {
                    p.tryFailure(t);
                }
            });
        } catch (RejectedExecutionException e) {
            p.tryFailure(e);
        }
        return p;
    }

    /** The server context for {@code host}, minting if needed (blocks; not for event loops). */
    SslContext forHostBlocking(String host) {
        String key = LeafCertificates.normalise(host);
        return servers.get(key, h -> {
            LeafCertificate leaf = leaves.get(h);
            try {
                return SslContextBuilder.forServer(leaf.privateKey(), leaf.chain())
                        .sslProvider(SslProvider.JDK)
                        .protocols("TLSv1.3", "TLSv1.2")
                        .build();
            } catch (SSLException e) {
                throw new IllegalStateException("cannot build a TLS server context for " + h + ": " + e, e);
            }
        });
    }

    private static SslContext buildClient(ProxyConfig config) {
        try {
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            int i = 0;
            if (config.trustJdkCas()) {
                TrustManagerFactory jdk = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                jdk.init((KeyStore) null);
                for (TrustManager tm : jdk.getTrustManagers()) {
                    if (tm instanceof X509TrustManager x509) {
                        for (X509Certificate c : x509.getAcceptedIssuers()) {
                            ks.setCertificateEntry("jdk-" + i++, c);
                        }
                    }
                }
            }
            for (X509Certificate c : config.upstreamCas()) {
                ks.setCertificateEntry("upstream-ca-" + i++, c);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            return SslContextBuilder.forClient()
                    .sslProvider(SslProvider.JDK)
                    .trustManager(tmf)
                    .endpointIdentificationAlgorithm("HTTPS")
                    .protocols("TLSv1.3", "TLSv1.2")
                    .build();
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot build the upstream TLS context: " + e, e);
        }
    }

    /**
     * Reads every PEM (or DER) certificate in {@code file}, for --upstream-ca.
     *
     * @throws IllegalArgumentException naming the file when it cannot be read or holds no certificate
     */
    static List<X509Certificate> readCertificates(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read CA file " + file + ": " + e, e);
        }
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            Collection<? extends Certificate> all = cf.generateCertificates(new ByteArrayInputStream(bytes));
            List<X509Certificate> out = new ArrayList<>();
            for (Certificate c : all) {
                out.add((X509Certificate) c);
            }
            if (out.isEmpty()) {
                throw new IllegalArgumentException(
                        file + " holds no certificate (expected PEM: -----BEGIN CERTIFICATE-----)");
            }
            return out;
        } catch (CertificateException e) {
            throw new IllegalArgumentException(file + " is not a PEM or DER certificate file: " + e.getMessage(), e);
        }
    }
}
