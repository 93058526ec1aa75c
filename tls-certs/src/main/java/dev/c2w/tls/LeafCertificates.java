package dev.c2w.tls;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.util.IPAddress;

/**
 * Mints and caches leaf certificates signed by a {@link CertificateAuthority}. Thread-safe.
 *
 * <p>Mints server certificates for host names and IP addresses, signed by the proxy CA, and caches them.
 *
 * <p>Each leaf: subject CN = the host (when it fits in 64 characters), subjectAltName DNS or IP, extended key
 * usage serverAuth, key usage digitalSignature (plus keyEncipherment for RSA), basicConstraints CA:false,
 * subject and authority key identifiers, notBefore backdated one hour, valid 30 days (never past the CA).
 * All leaves of one instance share one key pair of the CA's algorithm, generated at construction: a leaf
 * then costs one signature, and the key never leaves the process.
 *
 * <p>Host names are normalised (lower case, no trailing dot, no IPv6 brackets) and checked: a name that is
 * neither an IP literal nor a syntactically valid DNS name is refused with IllegalArgumentException, since
 * names come from the guest (SNI, CONNECT) and are data, not trusted input.
 *
 * <p>The cache is a SingleFlightCache: concurrent requests for the same host mint once. Thread-safe.
 */
public final class LeafCertificates {
    public static final Duration VALIDITY = Duration.ofDays(30);
    public static final int DEFAULT_CACHE_SIZE = 1024;

    private final CertificateAuthority ca;
    private final KeyPair leafKeys;
    private final SingleFlightCache<String, LeafCertificate> cache;
    private final AtomicLong minted = new AtomicLong();

    public LeafCertificates(CertificateAuthority ca) {
        this(ca, DEFAULT_CACHE_SIZE);
    }

    public LeafCertificates(CertificateAuthority ca, int cacheSize) {
        this.ca = ca;
        this.cache = new SingleFlightCache<>(cacheSize);
        try {
            this.leafKeys = CertificateAuthority.generateKeyPair(ca.keyType());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot generate the leaf key pair: " + e, e);
        }
    }

    public CertificateAuthority ca() {
        return ca;
    }

    /**
     * The leaf for {@code host} (a DNS name, an IPv4 literal or an IPv6 literal, with or without brackets),
     * minted on first use.
     *
     * @throws IllegalArgumentException if {@code host} is not a valid name or address
     */
    public LeafCertificate get(String host) {
        return cache.get(normalise(host), this::mint);
    }

    /** How many leaves this instance has minted (cache misses). */
    public long mintedCount() {
        return minted.get();
    }

    /** How many leaves are cached now. */
    public int cachedCount() {
        return cache.size();
    }

    /**
     * The canonical form of a host name or address: lower case, without a trailing dot or IPv6 brackets.
     *
     * @throws IllegalArgumentException if it is neither a valid DNS name nor an IP literal
     */
    public static String normalise(String host) {
        if (host == null) {
            throw new IllegalArgumentException("no host name");
        }
        String h = host.trim().toLowerCase(Locale.ROOT);
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        if (h.endsWith(".")) {
            h = h.substring(0, h.length() - 1);
        }
        if (IPAddress.isValid(h)) {
            return h;
        }
        if (!isDnsName(h)) {
            throw new IllegalArgumentException("not a valid host name or IP address: '" + printable(host) + "'");
        }
        return h;
    }

    /** LDH labels of 1..63 characters (underscores tolerated, as real names use them), 253 in all. */
    static boolean isDnsName(String h) {
        if (h.isEmpty() || h.length() > 253) {
            return false;
        }
        for (String label : h.split("\\.", -1)) {
            if (label.isEmpty() || label.length() > 63 || label.startsWith("-") || label.endsWith("-")) {
                return false;
            }
            for (int i = 0; i < label.length(); i++) {
                char c = label.charAt(i);
                boolean ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
                if (!ok) {
                    return false;
                }
            }
        }
        return true;
    }

    private static String printable(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && i < 80; i++) {
            char c = s.charAt(i);
            b.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return b.toString();
    }

    @SuppressWarnings("JavaUtilDate") // BouncyCastle's certificate builder takes and gives Date
    private LeafCertificate mint(String host) {
        try {
            X509Certificate caCert = ca.certificate();
            Instant now = Instant.now();
            Date notBefore = Date.from(now.minus(CertificateAuthority.BACKDATE));
            Date notAfter = Date.from(now.plus(VALIDITY));
            if (notAfter.after(caCert.getNotAfter())) {
                notAfter = caCert.getNotAfter();
            }
            boolean ip = IPAddress.isValid(host);
            X500NameBuilder subject = new X500NameBuilder(BCStyle.INSTANCE);
            if (host.length() <= 64) {
                subject.addRDN(BCStyle.CN, host);
            } else {
                subject.addRDN(BCStyle.O, "c2w-net proxy");
            }
            X500Name issuer =
                    X500Name.getInstance(caCert.getSubjectX500Principal().getEncoded());
            JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
                    issuer, serial(), notBefore, notAfter, subject.build(), leafKeys.getPublic());
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            GeneralName san = new GeneralName(ip ? GeneralName.iPAddress : GeneralName.dNSName, host);
            // RFC 5280: the SAN is critical when the subject is empty of a CN that names the host.
            b.addExtension(Extension.subjectAlternativeName, host.length() > 64, new GeneralNames(san));
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            int usage = KeyUsage.digitalSignature;
            if (ca.keyType() == CaKeyType.RSA) {
                usage |= KeyUsage.keyEncipherment;
            }
            b.addExtension(Extension.keyUsage, true, new KeyUsage(usage));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(leafKeys.getPublic()));
            b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(caCert));
            ContentSigner signer =
                    new JcaContentSignerBuilder(ca.keyType().signatureAlgorithm()).build(ca.privateKey());
            X509CertificateHolder holder = b.build(signer);
            X509Certificate cert = new JcaX509CertificateConverter().getCertificate(holder);
            minted.incrementAndGet();
            return new LeafCertificate(host, cert, leafKeys.getPrivate(), List.of(cert, caCert));
        } catch (GeneralSecurityException | OperatorCreationException | CertIOException e) {
            throw new IllegalStateException("cannot mint a certificate for " + host + ": " + e, e);
        }
    }

    private static BigInteger serial() {
        return CertificateAuthority.randomSerial();
    }

    /** The PEM form of a leaf certificate (for tools and tests). */
    public static String toPem(X509Certificate cert) {
        return CertificateAuthority.toPem(cert);
    }
}
