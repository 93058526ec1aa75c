package dev.c2w.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class LeafCertificatesTest {
    @TempDir
    Path tmp;

    private String openssl(Path dir, String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add("openssl");
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("openssl %s: %s", args, out).isZero();
        return out;
    }

    @ParameterizedTest
    @EnumSource(CaKeyType.class)
    void opensslVerifiesMintedLeaves(CaKeyType type) throws Exception {
        CertificateAuthority ca = CertificateAuthority.loadOrCreate(tmp.resolve("ca"), type);
        LeafCertificates leaves = new LeafCertificates(ca);
        Files.writeString(tmp.resolve("ca.pem"), ca.certificatePem());
        Files.writeString(
                tmp.resolve("dns.pem"),
                LeafCertificates.toPem(leaves.get("WWW.Example.COM.").certificate()));
        Files.writeString(
                tmp.resolve("ip.pem"),
                LeafCertificates.toPem(leaves.get("192.168.127.253").certificate()));
        Files.writeString(
                tmp.resolve("ip6.pem"),
                LeafCertificates.toPem(leaves.get("[::1]").certificate()));

        assertThat(openssl(
                        tmp,
                        "verify",
                        "-CAfile",
                        "ca.pem",
                        "-purpose",
                        "sslserver",
                        "-verify_hostname",
                        "www.example.com",
                        "dns.pem"))
                .contains("dns.pem: OK");
        assertThat(openssl(
                        tmp,
                        "verify",
                        "-CAfile",
                        "ca.pem",
                        "-purpose",
                        "sslserver",
                        "-verify_ip",
                        "192.168.127.253",
                        "ip.pem"))
                .contains("ip.pem: OK");
        assertThat(openssl(tmp, "verify", "-CAfile", "ca.pem", "-verify_ip", "::1", "ip6.pem"))
                .contains("ip6.pem: OK");
        String text = openssl(tmp, "x509", "-in", "dns.pem", "-noout", "-text");
        assertThat(text).contains("DNS:www.example.com", "TLS Web Server Authentication", "CA:FALSE");
        // the name check is real: another name fails
        Process p = new ProcessBuilder(
                        "openssl", "verify", "-CAfile", "ca.pem", "-verify_hostname", "other.example.com", "dns.pem")
                .directory(tmp.toFile())
                .redirectErrorStream(true)
                .start();
        p.getInputStream().readAllBytes();
        assertThat(p.waitFor()).isNotZero();
    }

    @Test
    void leafProfile() throws Exception {
        CertificateAuthority ca = CertificateAuthority.loadOrCreate(tmp.resolve("ca"), CaKeyType.ECDSA);
        LeafCertificate leaf = new LeafCertificates(ca).get("api.example.org");
        X509Certificate c = leaf.certificate();
        c.verify(ca.certificate().getPublicKey());
        assertThat(c.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1");
        assertThat(c.getBasicConstraints()).isEqualTo(-1);
        long days = (c.getNotAfter().getTime() - System.currentTimeMillis()) / 86_400_000L;
        assertThat(days).isBetween(29L, 30L);
        Collection<List<?>> sans = c.getSubjectAlternativeNames();
        assertThat(sans).containsExactly(List.of(2, "api.example.org"));
        assertThat(leaf.chain()).containsExactly(c, ca.certificate());
    }

    @Test
    void concurrentRequestsForOneHostMintOnce() throws Exception {
        CertificateAuthority ca = CertificateAuthority.loadOrCreate(tmp.resolve("ca"), CaKeyType.ECDSA);
        LeafCertificates leaves = new LeafCertificates(ca);
        ExecutorService pool = Executors.newFixedThreadPool(100);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<LeafCertificate>> fs = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                fs.add(pool.submit(() -> {
                    start.await();
                    return leaves.get("burst.example.com");
                }));
            }
            start.countDown();
            Set<X509Certificate> distinct = new HashSet<>();
            for (Future<LeafCertificate> f : fs) {
                distinct.add(f.get(60, TimeUnit.SECONDS).certificate());
            }
            assertThat(distinct).hasSize(1);
            assertThat(leaves.mintedCount()).isEqualTo(1);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void cacheIsBounded() throws Exception {
        CertificateAuthority ca = CertificateAuthority.loadOrCreate(tmp.resolve("ca"), CaKeyType.ECDSA);
        LeafCertificates leaves = new LeafCertificates(ca, 4);
        X509Certificate first = leaves.get("h0.test").certificate();
        for (int i = 1; i < 10; i++) {
            leaves.get("h" + i + ".test");
        }
        assertThat(leaves.cachedCount()).isEqualTo(4);
        assertThat(leaves.mintedCount()).isEqualTo(10);
        assertThat(leaves.get("h9.test").certificate())
                .isSameAs(leaves.get("h9.test").certificate());
        assertThat(leaves.get("h0.test").certificate()).isNotEqualTo(first);
        assertThat(leaves.mintedCount()).isEqualTo(11);
    }

    @Test
    void badNamesAreRefused() throws Exception {
        CertificateAuthority ca = CertificateAuthority.loadOrCreate(tmp.resolve("ca"), CaKeyType.ECDSA);
        LeafCertificates leaves = new LeafCertificates(ca);
        for (String bad :
                new String[] {"", "a..b", "-x.com", "x y.com", "x/../y", "a".repeat(64) + ".com", "\u0000.com"}) {
            assertThatThrownBy(() -> leaves.get(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
        assertThat(leaves.mintedCount()).isZero();
        assertThat(LeafCertificates.normalise("Example.COM.")).isEqualTo("example.com");
    }

    @Test
    void singleFlightRetriesAfterAFailure() {
        SingleFlightCache<String, String> c = new SingleFlightCache<>(2);
        assertThatThrownBy(() -> c.get("k", k -> {
                    throw new IllegalStateException("boom");
                }))
                .hasMessage("boom");
        assertThat(c.size()).isZero();
        assertThat(c.get("k", k -> "v")).isEqualTo("v");
        assertThat(c.peek("k")).isEqualTo("v");
    }
}
