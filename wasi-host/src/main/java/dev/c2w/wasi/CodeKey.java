package dev.c2w.wasi;

import com.dylibso.chicory.compiler.Cache;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;

/**
 * A compile-cache key for modules that differ only in their data: every module c2w writes is the same
 * emulator code with other data segments (kernel, initramfs, root filesystem) and another memory
 * minimum, so keying Chicory's compiled classes by the whole file's digest would compile the emulator
 * again for every converted image. The key is a SHA-256 over every section except custom sections,
 * memory, data and data count; Chicory's compiled code depends on none of them (they are applied when
 * the instance is built). Reading it touches only section headers and the code, not the data.
 */
final class CodeKey {
    private CodeKey() {}

    /** The key of the module at {@code path}, or null when the file is not a Wasm module we can read. */
    static String of(Path path) {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            long size = ch.size();
            ByteBuffer head = ByteBuffer.allocate(8);
            if (readFully(ch, head, 0) < 8 || head.getInt(0) != 0x0061736d) {
                return null;
            }
            long pos = 8;
            ByteBuffer hdr = ByteBuffer.allocate(6);
            while (pos < size) {
                hdr.clear();
                int n = readFully(ch, hdr, pos);
                if (n < 2) {
                    return null;
                }
                int id = hdr.get(0) & 0xff;
                long len = 0;
                int shift = 0;
                int k = 1;
                while (true) {
                    if (k >= n || shift > 28) {
                        return null;
                    }
                    int b = hdr.get(k++) & 0xff;
                    len |= (long) (b & 0x7f) << shift;
                    shift += 7;
                    if ((b & 0x80) == 0) {
                        break;
                    }
                }
                long start = pos + k;
                if (len > size - start) {
                    return null;
                }
                if (id != 0 && id != 5 && id != 11 && id != 12) {
                    d.update((byte) id);
                    ByteBuffer body = ByteBuffer.allocate((int) len);
                    readFully(ch, body, start);
                    body.flip();
                    d.update(ByteBuffer.allocate(8).putLong(0, len));
                    d.update(body);
                }
                pos = start + len;
            }
            return "code-sha256:" + Base64.getEncoder().encodeToString(d.digest());
        } catch (IOException | NoSuchAlgorithmException e) {
            return null;
        }
    }

    private static int readFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
        int total = 0;
        while (b.hasRemaining()) {
            int n = ch.read(b, pos + total);
            if (n < 0) {
                break;
            }
            total += n;
        }
        return total;
    }

    /** A cache that stores the entry for {@code moduleDigest} under {@code codeKey} instead. */
    static Cache keyedBy(Cache inner, String moduleDigest, String codeKey) {
        return new Cache() {
            @Override
            public byte[] get(String key) throws IOException {
                return inner.get(key.equals(moduleDigest) ? codeKey : key);
            }

            @Override
            public void putIfAbsent(String key, byte[] data) throws IOException {
                inner.putIfAbsent(key.equals(moduleDigest) ? codeKey : key, data);
            }
        };
    }
}
