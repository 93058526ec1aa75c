package dev.c2w.tls;

import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The proxy CA: certificate + private key, loaded from or created in a directory.
 *
 * <p>The proxy's certificate authority: one key pair and one self-signed certificate, created on first use and
 * kept in a directory (default $XDG_DATA_HOME/c2w-net/ca, else ~/.local/share/c2w-net/ca) so that guests
 * that trust it once keep trusting it across runs.
 *
 * <p>Files: ca.crt (PEM certificate) and ca.key (PKCS#8 PEM private key, mode 0600, in a 0700 directory).
 * Creation writes both under temporary names and renames the key first and the certificate last, so a
 * directory holding ca.crt is complete; a lock file keeps two processes from creating two CAs at once.
 *
 * <p>Loading checks everything it can (both files present and parseable, the certificate is a CA and still
 * valid, the key signs what the certificate's public key verifies) and otherwise throws CaStoreException
 * with the file at fault and what to do. It never deletes or overwrites an existing CA.
 *
 * <p>Instances are immutable and safe to share between threads.
 */
public final class CertificateAuthority {
    public static final String CERT_FILE = "ca.crt";
    public static final String KEY_FILE = "ca.key";
    public static final String COMMON_NAME = "c2w-net proxy CA";
    static final Duration BACKDATE = Duration.ofHours(1);
    static final Duration VALIDITY = Duration.ofDays(365);

    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path dir;
    private final X509Certificate certificate;
    private final PrivateKey privateKey;
    private final CaKeyType keyType;
    private final String pem;
    private final boolean created;

    private CertificateAuthority(Path dir, X509Certificate certificate, PrivateKey privateKey, boolean created) {
        this.dir = dir;
        this.certificate = certificate;
        this.privateKey = privateKey;
        this.keyType = CaKeyType.ofKeyAlgorithm(privateKey.getAlgorithm());
        this.pem = toPem(certificate);
        this.created = created;
    }

    /** The default CA directory: $XDG_DATA_HOME/c2w-net/ca, else ~/.local/share/c2w-net/ca. */
    public static Path defaultDirectory() {
        return defaultDirectory(System.getenv(), System.getProperty("user.home"));
    }

    static Path defaultDirectory(Map<String, String> env, String home) {
        String xdg = env.get("XDG_DATA_HOME");
        // The XDG spec says relative values are invalid and must be ignored.
        if (xdg != null && !xdg.isEmpty() && Paths.get(xdg).isAbsolute()) {
            return Paths.get(xdg, "c2w-net", "ca");
        }
        return Paths.get(home, ".local", "share", "c2w-net", "ca");
    }

    /**
     * Loads the CA in {@code dir}, or creates one of {@code typeIfNew} when the directory holds no CA yet.
     *
     * @throws CaStoreException if the directory holds a CA that cannot be used (the message says why and what to do)
     */
    public static CertificateAuthority loadOrCreate(Path dir, CaKeyType typeIfNew) {
        try {
            Files.createDirectories(dir);
            restrict(dir, PosixFilePermissions.fromString("rwx------"), false);
        } catch (IOException e) {
            throw new CaStoreException(
                    "cannot create CA directory " + dir + ": " + e + "; pass --ca-dir with a writable directory", e);
        }
        Path lockFile = dir.resolve(".lock");
        // The file lock keeps other processes out; file locks are per process, so threads queue here first.
        synchronized (CertificateAuthority.class) {
            return loadOrCreateLocked(dir, typeIfNew, lockFile);
        }
    }

    private static CertificateAuthority loadOrCreateLocked(Path dir, CaKeyType typeIfNew, Path lockFile) {
        try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                FileLock lock = ch.lock()) {
            assert lock.isValid(); // held until the block ends: one process creates, the others load
            if (Files.exists(dir.resolve(CERT_FILE)) || Files.exists(dir.resolve(KEY_FILE))) {
                return load(dir);
            }
            return create(dir, typeIfNew);
        } catch (IOException e) {
            throw new CaStoreException(
                    "cannot lock " + lockFile + ": " + e
                            + "; check the permissions of the CA directory or pass another --ca-dir",
                    e);
        }
    }

    /**
     * Loads an existing CA from {@code dir}.
     *
     * @throws CaStoreException if there is none, or it cannot be used
     */
    public static CertificateAuthority load(Path dir) {
        Path certPath = dir.resolve(CERT_FILE);
        Path keyPath = dir.resolve(KEY_FILE);
        boolean hasCert = Files.exists(certPath);
        boolean hasKey = Files.exists(keyPath);
        String remedy = "; restore the file from a backup, or delete " + dir
                + " to create a new CA (guests must then trust the new ca.crt)";
        if (!hasCert && !hasKey) {
            throw new CaStoreException("no CA in " + dir + " (" + CERT_FILE + " and " + KEY_FILE
                    + " are missing); run `c2w-net ca export` to create one");
        }
        if (!hasCert) {
            throw new CaStoreException("incomplete CA directory " + dir + ": " + KEY_FILE + " exists but " + CERT_FILE
                    + " is missing (an interrupted first run?)" + remedy);
        }
        if (!hasKey) {
            throw new CaStoreException("incomplete CA directory " + dir + ": " + CERT_FILE + " exists but " + KEY_FILE
                    + " is missing" + remedy);
        }
        X509Certificate cert = readCertificate(certPath, remedy);
        PrivateKey key = readPrivateKey(keyPath, remedy);
        if (cert.getBasicConstraints() < 0) {
            throw new CaStoreException(certPath + " is not a CA certificate (no basicConstraints CA:true)" + remedy);
        }
        try {
            cert.checkValidity();
        } catch (CertificateExpiredException e) {
            throw new CaStoreException(
                    "the CA certificate " + certPath + " expired on "
                            + cert.getNotAfter().toInstant() + "; delete " + dir
                            + " to create a new CA (guests must then trust the new ca.crt)",
                    e);
        } catch (CertificateNotYetValidException e) {
            throw new CaStoreException(
                    "the CA certificate " + certPath + " is not valid before "
                            + cert.getNotBefore().toInstant() + "; check the system clock",
                    e);
        }
        if (!keyMatches(key, cert)) {
            throw new CaStoreException("the private key " + keyPath + " does not belong to the certificate " + certPath
                    + " (mismatched CA files)" + remedy);
        }
        warnIfKeyReadable(keyPath);
        return new CertificateAuthority(dir, cert, key, false);
    }

    private static CertificateAuthority create(Path dir, CaKeyType type) {
        try {
            KeyPair kp = generateKeyPair(type);
            Instant now = Instant.now();
            X500Name name = new X500Name("CN=" + COMMON_NAME);
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
                    name,
                    randomSerial(),
                    Date.from(now.minus(BACKDATE)),
                    Date.from(now.plus(VALIDITY)),
                    name,
                    kp.getPublic());
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
            X509CertificateHolder holder =
                    b.build(new JcaContentSignerBuilder(type.signatureAlgorithm()).build(kp.getPrivate()));
            X509Certificate cert = new JcaX509CertificateConverter().getCertificate(holder);

            Path keyTmp = dir.resolve(KEY_FILE + ".tmp");
            Path certTmp = dir.resolve(CERT_FILE + ".tmp");
            Files.deleteIfExists(keyTmp);
            Files.deleteIfExists(certTmp);
            writePrivate(keyTmp, toPem(kp.getPrivate()));
            Files.write(certTmp, toPem(cert).getBytes(StandardCharsets.US_ASCII), StandardOpenOption.CREATE_NEW);
            Files.move(keyTmp, dir.resolve(KEY_FILE), StandardCopyOption.ATOMIC_MOVE);
            Files.move(certTmp, dir.resolve(CERT_FILE), StandardCopyOption.ATOMIC_MOVE);
            return new CertificateAuthority(dir, cert, kp.getPrivate(), true);
        } catch (IOException e) {
            throw new CaStoreException(
                    "cannot write a new CA into " + dir + ": " + e + "; pass --ca-dir with a writable directory", e);
        } catch (GeneralSecurityException | OperatorCreationException e) {
            throw new IllegalStateException("cannot create a CA key pair: " + e, e);
        }
    }

    static KeyPair generateKeyPair(CaKeyType type) throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance(type.keyAlgorithm());
        if (type == CaKeyType.ECDSA) {
            g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
        } else {
            g.initialize(2048, RANDOM);
        }
        return g.generateKeyPair();
    }

    /** A positive random serial number of 127 bits (RFC 5280 allows up to 20 octets). */
    static BigInteger randomSerial() {
        return new BigInteger(127, RANDOM).setBit(126);
    }

    private static void writePrivate(Path p, String pem) throws IOException {
        Set<PosixFilePermission> perms = PosixFilePermissions.fromString("rw-------");
        try {
            Files.createFile(p, PosixFilePermissions.asFileAttribute(perms));
        } catch (UnsupportedOperationException e) {
            Files.createFile(p); // not a POSIX file system: best effort
        }
        Files.write(p, pem.getBytes(StandardCharsets.US_ASCII), StandardOpenOption.TRUNCATE_EXISTING);
        restrict(p, perms, true);
    }

    private static void restrict(Path p, Set<PosixFilePermission> perms, boolean always) throws IOException {
        try {
            if (always || !Files.getPosixFilePermissions(p).equals(perms)) {
                Files.setPosixFilePermissions(p, perms);
            }
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system
        } catch (IOException e) {
            if (always) {
                throw e;
            }
            // a directory owned by someone else: leave it as it is
        }
    }

    private static void warnIfKeyReadable(Path keyPath) {
        try {
            Set<PosixFilePermission> p = Files.getPosixFilePermissions(keyPath);
            Set<PosixFilePermission> others = EnumSet.of(
                    PosixFilePermission.GROUP_READ,
                    PosixFilePermission.OTHERS_READ,
                    PosixFilePermission.GROUP_WRITE,
                    PosixFilePermission.OTHERS_WRITE);
            others.retainAll(p);
            if (!others.isEmpty()) {
                System.err.println("c2w-net: warning: " + keyPath + " is accessible to other users ("
                        + PosixFilePermissions.toString(p) + "); run chmod 600 " + keyPath);
            }
        } catch (IOException | UnsupportedOperationException e) {
            // nothing to check
        }
    }

    private static X509Certificate readCertificate(Path p, String remedy) {
        Object o = readPem(p, remedy);
        if (!(o instanceof X509CertificateHolder holder)) {
            throw new CaStoreException(p + " does not hold a PEM certificate" + remedy);
        }
        try {
            return new JcaX509CertificateConverter().getCertificate(holder);
        } catch (CertificateException e) {
            throw new CaStoreException(
                    p + " holds a certificate that cannot be decoded: " + e.getMessage() + remedy, e);
        }
    }

    private static PrivateKey readPrivateKey(Path p, String remedy) {
        Object o = readPem(p, remedy);
        try {
            JcaPEMKeyConverter conv = new JcaPEMKeyConverter();
            if (o instanceof PrivateKeyInfo info) {
                return conv.getPrivateKey(info);
            }
            if (o instanceof PEMKeyPair pair) {
                return conv.getKeyPair(pair).getPrivate();
            }
        } catch (IOException | RuntimeException e) {
            throw new CaStoreException(
                    p + " holds a private key that cannot be decoded: " + e.getMessage() + remedy, e);
        }
        throw new CaStoreException(p + " does not hold an unencrypted PEM private key" + remedy);
    }

    private static Object readPem(Path p, String remedy) {
        String text;
        try {
            text = Files.readString(p, StandardCharsets.US_ASCII);
        } catch (NoSuchFileException e) {
            throw new CaStoreException(p + " is missing" + remedy, e);
        } catch (IOException e) {
            throw new CaStoreException("cannot read " + p + ": " + e, e);
        }
        try (Reader r = new StringReader(text);
                PEMParser parser = new PEMParser(r)) {
            Object o = parser.readObject();
            if (o == null) {
                throw new CaStoreException(p + " is corrupt: no PEM object in it" + remedy);
            }
            return o;
        } catch (IOException | RuntimeException e) {
            if (e instanceof CaStoreException store) {
                throw store;
            }
            throw new CaStoreException(p + " is corrupt: " + e.getMessage() + remedy, e);
        }
    }

    private static boolean keyMatches(PrivateKey key, X509Certificate cert) {
        if (!key.getAlgorithm().equalsIgnoreCase(cert.getPublicKey().getAlgorithm())) {
            return false;
        }
        try {
            CaKeyType t = CaKeyType.ofKeyAlgorithm(key.getAlgorithm());
            byte[] probe = new byte[32];
            RANDOM.nextBytes(probe);
            Signature s = Signature.getInstance(t.signatureAlgorithm());
            s.initSign(key);
            s.update(probe);
            byte[] sig = s.sign();
            Signature v = Signature.getInstance(t.signatureAlgorithm());
            v.initVerify(cert.getPublicKey());
            v.update(probe);
            return v.verify(sig);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return false;
        }
    }

    static String toPem(Object o) {
        StringWriter sw = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(sw)) {
            if (o instanceof PrivateKey key) {
                w.writeObject(new JcaPKCS8Generator(key, null));
            } else {
                w.writeObject(o);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return sw.toString();
    }

    /** The directory the CA lives in. */
    public Path directory() {
        return dir;
    }

    /** Path of the PEM certificate (what guests must trust). */
    public Path certificatePath() {
        return dir.resolve(CERT_FILE);
    }

    public X509Certificate certificate() {
        return certificate;
    }

    public PrivateKey privateKey() {
        return privateKey;
    }

    public CaKeyType keyType() {
        return keyType;
    }

    /** The certificate in PEM form (ends with a newline). */
    public String certificatePem() {
        return pem;
    }

    /** Whether this call created the CA (rather than loading an existing one). */
    public boolean wasCreated() {
        return created;
    }
}
