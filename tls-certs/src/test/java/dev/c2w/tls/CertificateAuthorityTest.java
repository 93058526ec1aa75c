package dev.c2w.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPublicKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateAuthorityTest {
    @TempDir
    Path tmp;

    @Test
    void createsEcdsaCaWithTheRequiredProfile() throws Exception {
        Path dir = tmp.resolve("ca");
        CertificateAuthority ca = CertificateAuthority.loadOrCreate(dir, CaKeyType.ECDSA);
        assertThat(ca.wasCreated()).isTrue();
        X509Certificate c = ca.certificate();
        assertThat(c.getSubjectX500Principal().getName()).isEqualTo("CN=c2w-net proxy CA");
        assertThat(c.getIssuerX500Principal()).isEqualTo(c.getSubjectX500Principal());
        assertThat(c.getPublicKey().getAlgorithm()).isEqualTo("EC");
        assertThat(c.getBasicConstraints()).isEqualTo(0);
        assertThat(c.getCriticalExtensionOIDs()).contains("2.5.29.19", "2.5.29.15");
        assertThat(c.getKeyUsage()[5]).as("keyCertSign").isTrue();
        long now = System.currentTimeMillis();
        assertThat(now - c.getNotBefore().getTime())
                .isBetween(
                        Duration.ofMinutes(59).toMillis(),
                        Duration.ofMinutes(61).toMillis());
        assertThat(c.getNotAfter().getTime() - c.getNotBefore().getTime())
                .isEqualTo(Duration.ofDays(365).plusHours(1).toMillis());
        c.verify(c.getPublicKey());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("ca.key"))))
                .isEqualTo("rw-------");
        assertThat(Files.readString(dir.resolve("ca.crt")))
                .isEqualTo(ca.certificatePem())
                .startsWith("-----BEGIN CERTIFICATE-----");
        assertThat(ca.certificatePath()).isEqualTo(dir.resolve("ca.crt"));
    }

    @Test
    void concurrentFirstRunsCreateOneCa() throws Exception {
        Path dir = tmp.resolve("race");
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<CertificateAuthority>> fs = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                fs.add(pool.submit(() -> CertificateAuthority.loadOrCreate(dir, CaKeyType.ECDSA)));
            }
            Set<X509Certificate> certs = new HashSet<>();
            int created = 0;
            for (var f : fs) {
                CertificateAuthority ca = f.get();
                certs.add(ca.certificate());
                created += ca.wasCreated() ? 1 : 0;
            }
            assertThat(certs).hasSize(1);
            assertThat(created).isEqualTo(1);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void rsaOnRequest() {
        CertificateAuthority ca = CertificateAuthority.loadOrCreate(tmp.resolve("rsa"), CaKeyType.RSA);
        assertThat(ca.certificate().getPublicKey().getAlgorithm()).isEqualTo("RSA");
        assertThat(((RSAPublicKey) ca.certificate().getPublicKey()).getModulus().bitLength())
                .isEqualTo(2048);
        assertThat(ca.keyType()).isEqualTo(CaKeyType.RSA);
    }

    @Test
    void survivesARestart() {
        Path dir = tmp.resolve("ca");
        CertificateAuthority first = CertificateAuthority.loadOrCreate(dir, CaKeyType.ECDSA);
        // the key type only applies to a new CA: the existing one is reused as it is
        CertificateAuthority second = CertificateAuthority.loadOrCreate(dir, CaKeyType.RSA);
        assertThat(second.wasCreated()).isFalse();
        assertThat(second.certificate()).isEqualTo(first.certificate());
        assertThat(second.privateKey().getEncoded())
                .isEqualTo(first.privateKey().getEncoded());
        assertThat(second.keyType()).isEqualTo(CaKeyType.ECDSA);
    }

    @Test
    void corruptCertificateIsReportedAndLeftAlone() throws Exception {
        Path dir = tmp.resolve("ca");
        CertificateAuthority.loadOrCreate(dir, CaKeyType.ECDSA);
        Files.writeString(dir.resolve("ca.crt"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        assertThatThrownBy(() -> CertificateAuthority.loadOrCreate(dir, CaKeyType.ECDSA))
                .isInstanceOf(CaStoreException.class)
                .hasMessageContaining(dir.resolve("ca.crt").toString())
                .hasMessageContaining("delete " + dir);
        assertThat(Files.readString(dir.resolve("ca.crt"))).contains("AAAA");
    }

    @Test
    void garbageKeyIsReported() throws Exception {
        Path dir = tmp.resolve("ca");
        CertificateAuthority.loadOrCreate(dir, CaKeyType.ECDSA);
        Files.write(dir.resolve("ca.key"), new byte[] {1, 2, 3, 0, (byte) 0xff});
        assertThatThrownBy(() -> CertificateAuthority.loadOrCreate(dir, CaKeyType.ECDSA))
                .isInstanceOf(CaStoreException.class)
                .hasMessageContaining("ca.key");
    }

    @Test
    void mismatchedKeyIsReported() throws Exception {
        Path a = tmp.resolve("a");
        Path b = tmp.resolve("b");
        CertificateAuthority.loadOrCreate(a, CaKeyType.ECDSA);
        CertificateAuthority.loadOrCreate(b, CaKeyType.ECDSA);
        Files.copy(b.resolve("ca.key"), a.resolve("ca.key"), StandardCopyOption.REPLACE_EXISTING);
        byte[] before = Files.readAllBytes(a.resolve("ca.crt"));
        assertThatThrownBy(() -> CertificateAuthority.loadOrCreate(a, CaKeyType.ECDSA))
                .isInstanceOf(CaStoreException.class)
                .hasMessageContaining("does not belong");
        assertThat(Files.readAllBytes(a.resolve("ca.crt"))).isEqualTo(before);
    }

    @Test
    void keyOfTheOtherAlgorithmIsAMismatch() throws Exception {
        Path a = tmp.resolve("a");
        Path b = tmp.resolve("b");
        CertificateAuthority.loadOrCreate(a, CaKeyType.ECDSA);
        CertificateAuthority.loadOrCreate(b, CaKeyType.RSA);
        Files.copy(b.resolve("ca.key"), a.resolve("ca.key"), StandardCopyOption.REPLACE_EXISTING);
        assertThatThrownBy(() -> CertificateAuthority.load(a))
                .isInstanceOf(CaStoreException.class)
                .hasMessageContaining("does not belong");
    }

    @Test
    void halfWrittenDirectoryIsReported() throws Exception {
        Path dir = tmp.resolve("ca");
        CertificateAuthority.loadOrCreate(dir, CaKeyType.ECDSA);
        Files.delete(dir.resolve("ca.crt"));
        assertThatThrownBy(() -> CertificateAuthority.loadOrCreate(dir, CaKeyType.ECDSA))
                .isInstanceOf(CaStoreException.class)
                .hasMessageContaining("ca.crt is missing");
        assertThat(Files.exists(dir.resolve("ca.crt"))).isFalse();
    }

    @Test
    void nonCaCertificateIsRefused() throws Exception {
        Path dir = tmp.resolve("ca");
        CertificateAuthority ca = CertificateAuthority.loadOrCreate(dir, CaKeyType.ECDSA);
        LeafCertificate leaf = new LeafCertificates(ca).get("example.test");
        Files.writeString(dir.resolve("ca.crt"), LeafCertificates.toPem(leaf.certificate()), StandardCharsets.US_ASCII);
        assertThatThrownBy(() -> CertificateAuthority.load(dir))
                .isInstanceOf(CaStoreException.class)
                .hasMessageContaining("not a CA certificate");
    }

    @Test
    void emptyDirectoryWithLoadOnlyExplainsHowToCreate() {
        assertThatThrownBy(() -> CertificateAuthority.load(tmp))
                .isInstanceOf(CaStoreException.class)
                .hasMessageContaining("c2w-net ca export");
    }

    @Test
    void defaultDirectoryFollowsXdg() {
        assertThat(CertificateAuthority.defaultDirectory(Map.of("XDG_DATA_HOME", "/data"), "/home/u"))
                .isEqualTo(Path.of("/data/c2w-net/ca"));
        assertThat(CertificateAuthority.defaultDirectory(Map.of(), "/home/u"))
                .isEqualTo(Path.of("/home/u/.local/share/c2w-net/ca"));
        assertThat(CertificateAuthority.defaultDirectory(Map.of("XDG_DATA_HOME", "rel"), "/home/u"))
                .isEqualTo(Path.of("/home/u/.local/share/c2w-net/ca"));
    }
}
