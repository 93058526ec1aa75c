package dev.c2w.converter.layer;

import dev.c2w.converter.fs.BulkInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * A streaming reader for the tar dialects found in image layers: ustar (with its name prefix), GNU
 * long names and long link names ('L', 'K'), base-256 numbers, and POSIX pax headers, local and global.
 *
 * <p>Our own reader rather than commons-compress because pax values are kept as bytes: the xattr
 * records ({@code SCHILY.xattr.*}) carry raw binary values such as {@code security.capability},
 * which a decode to a Java string would damage. Sparse files are rejected.
 *
 * <p>The end of the archive is the first all-zero block, or the end of the stream at a block boundary
 * (as Go's archive/tar, which writes most layers, also accepts). A stream ending inside a block or
 * inside an entry's contents is an {@link EOFException}.
 */
public final class TarReader {
    static final int BLOCK = 512;
    /** Upper bound for pax and GNU long-name data held in memory. */
    private static final int MAX_META = 16 << 20;

    /** One member, with the pax and GNU extensions already folded in. */
    public record Entry(
            String name,
            char type,
            int mode,
            long uid,
            long gid,
            long mtime,
            long size,
            String linkName,
            int devMajor,
            int devMinor,
            Map<String, byte[]> xattrs) {
        public boolean isRegular() {
            return type == '0' || type == '\0' || type == '7';
        }
    }

    private final InputStream in;
    private final byte[] block = new byte[BLOCK];
    private final Map<String, byte[]> globalPax = new LinkedHashMap<>();
    /** Bytes of the current entry's contents not yet read, and the padding after them. */
    private long remaining;

    private int padding;
    private boolean ended;
    /** Bytes consumed from the stream so far, and where the current entry's contents start. */
    private long pos;

    private long dataOffset;

    public TarReader(InputStream in) {
        this.in = in;
    }

    /** The next member, or null at the end of the archive. Unread contents of the previous one are skipped. */
    public Entry next() throws IOException {
        if (ended) return null;
        skipRest();
        Map<String, byte[]> pax = new LinkedHashMap<>();
        byte[] longName = null;
        byte[] longLink = null;
        while (true) {
            if (!readBlock()) {
                if (!pax.isEmpty() || longName != null || longLink != null) {
                    throw new EOFException("tar ends after an extended header");
                }
                ended = true;
                return null;
            }
            if (isZero(block)) {
                ended = true;
                return null;
            }
            verifyChecksum();
            char type = (char) (block[156] & 0xff);
            long size = number(124, 12, "size");
            if (size < 0) throw new IOException("negative entry size");
            switch (type) {
                case 'x' -> {
                    parsePax(readMeta(size), pax);
                    continue;
                }
                case 'g' -> {
                    parsePax(readMeta(size), globalPax);
                    continue;
                }
                case 'L' -> {
                    longName = trimNul(readMeta(size));
                    continue;
                }
                case 'K' -> {
                    longLink = trimNul(readMeta(size));
                    continue;
                }
                default -> {}
            }
            Map<String, byte[]> all = new LinkedHashMap<>(globalPax);
            all.putAll(pax);
            return build(type, size, all, longName, longLink);
        }
    }

    /** Offset in the stream of the contents of the entry last returned by {@link #next()}. */
    public long dataOffset() {
        return dataOffset;
    }

    /** The contents of the entry last returned by {@link #next()}: exactly its size in bytes. */
    public InputStream contents() {
        return new BulkInputStream() {
            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (remaining == 0) return -1;
                if (len == 0) return 0;
                int n = in.read(b, off, (int) Math.min(len, remaining));
                if (n < 0)
                    throw new EOFException("tar ends inside an entry's contents (" + remaining + " bytes missing)");
                remaining -= n;
                pos += n;
                return n;
            }
        };
    }

    private Entry build(char type, long size, Map<String, byte[]> pax, byte[] longName, byte[] longLink)
            throws IOException {
        String name;
        if (pax.containsKey("path")) {
            name = utf8(pax.get("path"));
        } else if (longName != null) {
            name = utf8(longName);
        } else {
            name = field(0, 100);
            // POSIX ustar ("ustar\0" "00") keeps a prefix; GNU ("ustar  \0") uses that space for other things.
            if (block[257] == 'u'
                    && block[258] == 's'
                    && block[259] == 't'
                    && block[260] == 'a'
                    && block[261] == 'r'
                    && block[262] == 0) {
                String prefix = field(345, 155);
                if (!prefix.isEmpty()) name = prefix + "/" + name;
            }
        }
        String link = pax.containsKey("linkpath")
                ? utf8(pax.get("linkpath"))
                : longLink != null ? utf8(longLink) : field(157, 100);
        int mode = (int) (number(100, 8, "mode") & 07777);
        long uid = pax.containsKey("uid") ? paxLong(pax, "uid") : number(108, 8, "uid");
        long gid = pax.containsKey("gid") ? paxLong(pax, "gid") : number(116, 8, "gid");
        long mtime = pax.containsKey("mtime") ? paxTime(pax.get("mtime")) : number(136, 12, "mtime");
        if (pax.containsKey("size")) size = paxLong(pax, "size");
        int major = 0;
        int minor = 0;
        if (type == '3' || type == '4') {
            major = (int) number(329, 8, "devmajor");
            minor = (int) number(337, 8, "devminor");
        }
        if (type == 'S' || pax.keySet().stream().anyMatch(k -> k.startsWith("GNU.sparse."))) {
            throw new IOException("sparse file " + name + " is not supported");
        }
        Map<String, byte[]> xattrs = new TreeMap<>();
        for (Map.Entry<String, byte[]> e : pax.entrySet()) {
            String k = e.getKey();
            if (k.startsWith("SCHILY.xattr.")) {
                xattrs.put(k.substring("SCHILY.xattr.".length()), e.getValue());
            } else if (k.startsWith("LIBARCHIVE.xattr.")) {
                // libarchive: the name is %-encoded, the value base64.
                String xname = URLDecoder.decode(k.substring("LIBARCHIVE.xattr.".length()), StandardCharsets.UTF_8);
                try {
                    xattrs.put(
                            xname, Base64.getDecoder().decode(utf8(e.getValue()).trim()));
                } catch (IllegalArgumentException ex) {
                    throw new IOException("bad base64 in pax record " + k + " of " + name);
                }
            }
        }
        // Entries that carry no contents in the archive (links, devices, dirs) must not have us skip data.
        boolean hasData = type == '0' || type == '\0' || type == '7' || !(type >= '1' && type <= '6');
        remaining = hasData ? size : 0;
        dataOffset = pos;
        padding = hasData ? (int) ((BLOCK - size % BLOCK) % BLOCK) : 0;
        return new Entry(name, type, mode, uid, gid, mtime, size, link, major, minor, xattrs);
    }

    private void skipRest() throws IOException {
        long n = remaining + padding;
        remaining = 0;
        padding = 0;
        byte[] buf = null;
        while (n > 0) {
            long r = in.skip(n);
            if (r <= 0) {
                if (buf == null) buf = new byte[8192];
                r = in.read(buf, 0, (int) Math.min(buf.length, n));
                if (r < 0) throw new EOFException("tar ends inside an entry's contents");
            }
            n -= r;
            pos += r;
        }
    }

    private byte[] readMeta(long size) throws IOException {
        if (size > MAX_META) throw new IOException("extended header of " + size + " bytes is too large");
        byte[] data = in.readNBytes((int) size);
        if (data.length < size) throw new EOFException("tar ends inside an extended header");
        int pad = (int) ((BLOCK - size % BLOCK) % BLOCK);
        if (in.readNBytes(pad).length < pad) throw new EOFException("tar ends inside an extended header");
        pos += size + pad;
        return data;
    }

    /** Reads one block; false at a clean end of stream, EOFException at a partial block. */
    private boolean readBlock() throws IOException {
        int got = 0;
        while (got < BLOCK) {
            int n = in.read(block, got, BLOCK - got);
            if (n < 0) break;
            got += n;
        }
        pos += got;
        if (got == 0) return false;
        if (got < BLOCK) throw new EOFException("tar ends inside a header block (" + got + " of 512 bytes)");
        return true;
    }

    private void verifyChecksum() throws IOException {
        long stored = number(148, 8, "checksum");
        long unsigned = 0;
        long signed = 0;
        for (int i = 0; i < BLOCK; i++) {
            int b = (i >= 148 && i < 156) ? ' ' : block[i];
            unsigned += b & 0xff;
            signed += (byte) b;
        }
        if (stored != unsigned && stored != signed) {
            throw new IOException("bad tar header checksum (not a tar, or corrupt)");
        }
    }

    private long number(int off, int len, String what) throws IOException {
        if ((block[off] & 0x80) != 0) {
            // base-256: big-endian two's complement, the top bit of the first byte a marker.
            long v = (block[off] & 0x40) != 0 ? -1 : 0;
            v = (v << 6) | (block[off] & 0x3f);
            for (int i = 1; i < len; i++) {
                if (i >= 9 && v != 0 && v != -1) throw new IOException("tar " + what + " field overflows");
                v = (v << 8) | (block[off + i] & 0xff);
            }
            return v;
        }
        int i = off;
        int end = off + len;
        while (i < end && (block[i] == ' ' || block[i] == 0)) i++;
        long v = 0;
        boolean any = false;
        while (i < end && block[i] >= '0' && block[i] <= '7') {
            v = (v << 3) | (block[i] - '0');
            any = true;
            i++;
        }
        if (i < end && block[i] != ' ' && block[i] != 0) {
            throw new IOException("bad tar " + what + " field (not a tar, or corrupt)");
        }
        return any ? v : 0;
    }

    private String field(int off, int len) {
        int end = off;
        while (end < off + len && block[end] != 0) end++;
        return new String(block, off, end - off, StandardCharsets.UTF_8);
    }

    private static void parsePax(byte[] data, Map<String, byte[]> into) throws IOException {
        int pos = 0;
        while (pos < data.length) {
            int sp = pos;
            long len = 0;
            while (sp < data.length && data[sp] >= '0' && data[sp] <= '9') {
                len = len * 10 + (data[sp] - '0');
                if (len > data.length) throw new IOException("bad pax record length");
                sp++;
            }
            if (sp == pos
                    || sp >= data.length
                    || data[sp] != ' '
                    || len <= sp - pos + 1
                    || pos + len > data.length
                    || data[(int) (pos + len - 1)] != '\n') {
                if (sp == pos && allZero(data, pos)) return; // some writers pad with NULs
                throw new IOException("bad pax record");
            }
            int recEnd = (int) (pos + len - 1);
            int eq = sp + 1;
            while (eq < recEnd && data[eq] != '=') eq++;
            if (eq >= recEnd) throw new IOException("bad pax record (no '=')");
            String key = new String(data, sp + 1, eq - sp - 1, StandardCharsets.UTF_8);
            byte[] value = Arrays.copyOfRange(data, eq + 1, recEnd);
            if (value.length == 0) {
                into.remove(key); // an empty value deletes the keyword
            } else {
                into.put(key, value);
            }
            pos += (int) len;
        }
    }

    private static boolean allZero(byte[] b, int from) {
        for (int i = from; i < b.length; i++) if (b[i] != 0) return false;
        return true;
    }

    private static long paxLong(Map<String, byte[]> pax, String key) throws IOException {
        try {
            return Long.parseLong(utf8(pax.get(key)).trim());
        } catch (NumberFormatException e) {
            throw new IOException("bad pax " + key + " value");
        }
    }

    /** pax mtime: decimal seconds, maybe negative, maybe with a fraction (dropped, rounding down). */
    private static long paxTime(byte[] v) throws IOException {
        String s = utf8(v).trim();
        try {
            return new BigDecimal(s).setScale(0, RoundingMode.FLOOR).longValueExact();
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IOException("bad pax mtime value " + s);
        }
    }

    private static byte[] trimNul(byte[] b) {
        int end = 0;
        while (end < b.length && b[end] != 0) end++;
        return Arrays.copyOf(b, end);
    }

    private static boolean isZero(byte[] b) {
        for (byte x : b) if (x != 0) return false;
        return true;
    }

    private static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
