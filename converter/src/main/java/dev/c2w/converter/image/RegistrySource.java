package dev.c2w.converter.image;

import com.google.cloud.tools.jib.api.Credential;
import com.google.cloud.tools.jib.api.CredentialRetriever;
import com.google.cloud.tools.jib.api.DescriptorDigest;
import com.google.cloud.tools.jib.api.LogEvent;
import com.google.cloud.tools.jib.api.RegistryException;
import com.google.cloud.tools.jib.api.RegistryUnauthorizedException;
import com.google.cloud.tools.jib.blob.Blob;
import com.google.cloud.tools.jib.event.EventHandlers;
import com.google.cloud.tools.jib.frontend.CredentialRetrieverFactory;
import com.google.cloud.tools.jib.http.FailoverHttpClient;
import com.google.cloud.tools.jib.image.json.ManifestTemplate;
import com.google.cloud.tools.jib.json.JsonTemplateMapper;
import com.google.cloud.tools.jib.registry.ManifestAndDigest;
import com.google.cloud.tools.jib.registry.RegistryClient;
import com.google.cloud.tools.jib.registry.credentials.CredentialRetrievalException;
import dev.c2w.converter.fs.BulkInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.security.DigestException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * An image in a registry, read with jib-core's {@link RegistryClient} (no Docker daemon). Anonymous
 * first; on 401 the credentials are looked up (explicit ones, else the Docker config's auths,
 * credsStore and credHelpers via jib's {@code DockerConfigCredentialRetriever}) and the registry's
 * challenge is answered (bearer token or basic). Plain HTTP is allowed for loopback hosts and the
 * {@link RegistryOptions#insecureRegistries()}. Manifest lists and OCI indexes are resolved to the
 * platform; jib drops the variant from index entries, so a wanted variant is matched against the
 * candidates' configs.
 */
public final class RegistrySource implements ImageSource {
    private final ImageReference ref;
    private final RegistryOptions options;

    public RegistrySource(ImageReference ref, RegistryOptions options) {
        if (ref.transport() != ImageReference.Transport.REGISTRY)
            throw new IllegalArgumentException("not a registry reference: " + ref);
        this.ref = ref;
        this.options = options;
    }

    /** Whether plain HTTP (and unverified TLS) is allowed for this reference's registry. */
    public boolean insecure() {
        return ref.isLoopbackRegistry()
                || options.insecureRegistries().contains(ref.registry())
                || options.insecureRegistries().contains(ImageReference.hostOf(ref.registry()));
    }

    @Override
    public ResolvedImage resolve(Platform platform) throws IOException {
        Consumer<LogEvent> logger = e -> options.log().accept(e.getLevel() + ": " + e.getMessage());
        boolean insecure = insecure();
        FailoverHttpClient http = new FailoverHttpClient(insecure, insecure, logger);
        try {
            Session s = new Session(http, logger);
            ManifestAndDigest<ManifestTemplate> first = s.pullManifest(ref.qualifier());
            String digest = first.getDigest().toString();
            if (ref.digest() != null && !ref.digest().equals(digest)) {
                throw new IOException(ref + ": the registry sent a manifest with digest " + digest);
            }
            s.cache.put(digest, JsonTemplateMapper.toByteArray(first.getManifest()));
            Manifests.Descriptor start = new Manifests.Descriptor(
                    first.getManifest().getManifestMediaType() == null
                            ? ""
                            : first.getManifest().getManifestMediaType(),
                    digest,
                    -1,
                    null,
                    null,
                    null,
                    Map.of());
            return Manifests.resolve(ref.toString(), List.of(start), s, platform, http::shutDown);
        } catch (IOException | RuntimeException e) {
            http.shutDown();
            throw e;
        }
    }

    /** One client, authenticated on the first 401. */
    private final class Session implements Manifests.Store {
        private final FailoverHttpClient http;
        private final Consumer<LogEvent> logger;
        private RegistryClient client;
        private boolean authenticated;
        final Map<String, byte[]> cache = new HashMap<>();

        Session(FailoverHttpClient http, Consumer<LogEvent> logger) {
            this.http = http;
            this.logger = logger;
            this.client = RegistryClient.factory(EventHandlers.NONE, ref.registry(), ref.repository(), http)
                    .setUserAgent("c2w")
                    .newRegistryClient();
        }

        ManifestAndDigest<ManifestTemplate> pullManifest(String qualifier) throws IOException {
            try {
                try {
                    return client.pullManifest(qualifier);
                } catch (RegistryUnauthorizedException e) {
                    if (authenticated) throw e;
                    authenticate(e);
                    return client.pullManifest(qualifier);
                }
            } catch (RegistryUnauthorizedException e) {
                throw new IOException(ref + ": not authorized to pull (" + e.getMessage() + ")", e);
            } catch (RegistryException e) {
                throw new IOException(ref + ": " + e.getMessage(), e);
            }
        }

        private void authenticate(RegistryUnauthorizedException e) throws IOException, RegistryException {
            authenticated = true;
            Credential credential = credential();
            client = RegistryClient.factory(EventHandlers.NONE, ref.registry(), ref.repository(), http)
                    .setUserAgent("c2w")
                    .setCredential(credential)
                    .newRegistryClient();
            // Asks /v2/ for the challenge: a bearer token (with the credential, or anonymous), else basic.
            if (!client.doPullBearerAuth()) {
                if (credential == null) {
                    throw new IOException(
                            ref + ": not authorized to pull, and no credentials found for " + ref.registry()
                                    + (options.useDockerConfig() ? " in the Docker config" : ""),
                            e);
                }
                client.configureBasicAuth();
            }
        }

        private Credential credential() throws IOException {
            if (options.username() != null) return Credential.from(options.username(), options.password());
            if (!options.useDockerConfig()) return null;
            com.google.cloud.tools.jib.api.ImageReference jibRef = com.google.cloud.tools.jib.api.ImageReference.of(
                    ref.registry(), ref.repository(), ref.tag(), ref.digest());
            CredentialRetrieverFactory f = CredentialRetrieverFactory.forImage(jibRef, logger);
            Path file = options.dockerConfig();
            String env = System.getenv("DOCKER_CONFIG");
            if (file == null && env != null && !env.isEmpty()) file = Path.of(env, "config.json");
            CredentialRetriever r = file == null ? f.dockerConfig() : f.dockerConfig(file);
            try {
                return r.retrieve().orElse(null);
            } catch (CredentialRetrievalException ex) {
                throw new IOException(ref + ": cannot get credentials: " + ex.getMessage(), ex);
            }
        }

        @Override
        public byte[] manifest(Manifests.Descriptor d) throws IOException {
            byte[] cached = cache.get(d.digest());
            if (cached != null) return cached;
            ManifestAndDigest<ManifestTemplate> m = pullManifest(d.digest());
            if (!m.getDigest().toString().equals(d.digest())) {
                throw new IOException(ref + ": asked for manifest " + d.digest() + ", got " + m.getDigest());
            }
            byte[] bytes = JsonTemplateMapper.toByteArray(m.getManifest());
            cache.put(d.digest(), bytes);
            return bytes;
        }

        @Override
        public byte[] blob(Manifests.Descriptor d) throws IOException {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try {
                client.pullBlob(jibDigest(d.digest()), size -> {}, n -> {}).writeTo(out);
            } catch (IOException e) {
                throw new IOException(ref + ": blob " + d.digest() + ": " + e.getMessage(), e);
            }
            byte[] b = out.toByteArray();
            Digests.check(b, d.digest(), d.size(), "blob");
            return b;
        }

        @Override
        public InputStream openBlob(Manifests.Descriptor d) throws IOException {
            Blob blob = client.pullBlob(jibDigest(d.digest()), size -> {}, n -> {});
            Pipe pipe = new Pipe();
            Thread t = new Thread(
                    () -> {
                        try {
                            blob.writeTo(pipe.sink());
                            pipe.finish();
                        } catch (Throwable e) {
                            pipe.fail(e);
                        }
                    },
                    "c2w-pull-"
                            + d.digest()
                                    .substring(
                                            d.digest().indexOf(':') + 1,
                                            d.digest().indexOf(':') + 13));
            t.setDaemon(true);
            t.start();
            return pipe;
        }

        private DescriptorDigest jibDigest(String d) throws IOException {
            try {
                return DescriptorDigest.fromDigest(d);
            } catch (DigestException e) {
                throw new IOException("unsupported digest " + d, e);
            }
        }
    }

    /**
     * Hands the chunks jib's {@code Blob.writeTo} produces on its thread to the reader: an input
     * stream fed by a bounded queue; the writer's failure surfaces in the reader, and closing the
     * reader makes the writer stop.
     */
    static final class Pipe extends BulkInputStream {
        private static final byte[] END = new byte[0];
        private final BlockingQueue<byte[]> queue = new ArrayBlockingQueue<>(64);
        private volatile boolean closed;
        private volatile Throwable failure;
        private byte[] chunk;
        private int pos;
        private boolean ended;

        OutputStream sink() {
            return new OutputStream() {
                @Override
                public void write(int b) throws IOException {
                    write(new byte[] {(byte) b}, 0, 1);
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    if (len > 0) put(Arrays.copyOfRange(b, off, off + len));
                }

                @Override
                public void close() {
                    // jib closes the stream before it reports a failure: the end is put by finish() or fail()
                }
            };
        }

        void finish() throws IOException {
            put(END);
        }

        void fail(Throwable e) {
            failure = e;
            try {
                put(END);
            } catch (IOException ignored) {
                // the reader is gone
            }
        }

        private void put(byte[] b) throws IOException {
            try {
                while (!queue.offer(b, 200, TimeUnit.MILLISECONDS)) {
                    if (closed) throw new IOException("reader closed");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException();
            }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (closed) throw new IOException("stream closed");
            if (len == 0) return 0;
            while (chunk == null || pos == chunk.length) {
                if (ended) return -1;
                try {
                    chunk = queue.take();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException();
                }
                pos = 0;
                if (chunk == END) {
                    ended = true;
                    chunk = null;
                    Throwable f = failure;
                    if (f != null)
                        throw f instanceof IOException io ? new IOException(io.getMessage(), io) : new IOException(f);
                    return -1;
                }
            }
            int n = Math.min(len, chunk.length - pos);
            System.arraycopy(chunk, pos, b, off, n);
            pos += n;
            return n;
        }

        @Override
        public void close() {
            closed = true;
            queue.clear();
        }
    }
}
