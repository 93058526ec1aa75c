package dev.c2w.converter.pack;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.LongConsumer;

/**
 * Packs the guest parts into a copy of the emulator module: one self-contained {@code out.wasm}.
 *
 * <p>The emulator holds one {@code struct c2w_bundle} in its data (guest/emulator/src/bundle.h),
 * recognised by 16 magic bytes. Packing (1) raises the memory's minimum so that the linear memory
 * starts out large enough, (2) appends one active data segment per part (kernel, initramfs, root
 * filesystem), each 64 KiB-aligned and placed at or above the original initial memory end, and (3)
 * writes the parts' addresses and sizes into the bundle struct. The emulator's allocator only grows
 * memory with {@code memory.grow}, so the parts' pages are never handed out; the root filesystem is
 * served to the guest straight from its data segment (one copy in memory). Every other section is
 * copied byte for byte; a custom section {@code c2w.manifest} records what went in (for
 * {@code c2w inspect}). The output is written to a temporary file next to OUT and renamed at the end,
 * so a failed conversion never leaves a half-written OUT.
 */
public final class ModulePacker {
    public static final byte[] MAGIC = "C2W-BUNDLE-V1\0\0\0".getBytes(StandardCharsets.US_ASCII);
    public static final String MANIFEST_SECTION = "c2w.manifest";
    static final int BUNDLE_SIZE = 704;
    static final int OFF_VERSION = 16,
            OFF_FLAGS = 20,
            OFF_KERNEL = 24,
            OFF_INITRD = 32,
            OFF_ROOTFS = 40,
            OFF_MEMORY = 48,
            OFF_CMDLINE = 64,
            CMDLINE_MAX = 512,
            OFF_EXTERNAL = 576,
            EXTERNAL_MAX = 128;
    static final long PAGE = 65536;
    /** Linear memory above the parts that the emulator still needs (guest RAM, its own heap). */
    static final long HEADROOM = 512L << 20;

    static final long ADDRESS_LIMIT = 1L << 32;

    /** What goes into the module. {@code rootfs} is null with an external bundle (or none). */
    @SuppressWarnings("ArrayRecordComponent") // a carrier of bytes, never compared or hashed
    public record Parts(
            Path kernel,
            byte[] initrd,
            Path rootfs,
            String cmdline,
            String externalRootfsName,
            int memoryMib,
            byte[] manifestJson) {}

    /** Sizes and addresses as placed; for reports and tests. */
    public record Layout(
            long kernelAddr,
            long kernelSize,
            long initrdAddr,
            long initrdSize,
            long rootfsAddr,
            long rootfsSize,
            long memoryPages,
            long outputSize) {}

    private ModulePacker() {}

    /** Packs {@code emulator} with {@code parts} into {@code out} (atomically); progress counts bytes written. */
    public static Layout pack(byte[] emulator, Parts parts, Path out, LongConsumer progress) throws IOException {
        WasmSections wasm = new WasmSections(emulator);
        byte[] image = emulator.clone();
        MemoryLimits mem = readMemory(wasm);
        List<Segment> segments = readData(wasm);

        long kernelSize = Files.size(parts.kernel());
        long initrdSize = parts.initrd().length;
        long rootfsSize = parts.rootfs() == null ? 0 : Files.size(parts.rootfs());
        long base = mem.min * PAGE;
        long kernelAddr = base;
        long initrdAddr = align(kernelAddr + kernelSize);
        long rootfsAddr = align(initrdAddr + initrdSize);
        long end = align(rootfsAddr + rootfsSize);
        int guestMib = parts.memoryMib() == 0 ? 256 : parts.memoryMib();
        if (end + ((long) guestMib << 20) + HEADROOM > ADDRESS_LIMIT) {
            throw new IOException(String.format(
                    "the root filesystem (%d MiB) and guest RAM (%d MiB) do not fit in a 4 GiB WebAssembly memory; "
                            + "use --external-bundle DIR to keep the filesystem outside the module",
                    rootfsSize >> 20, guestMib));
        }
        long newMin = end / PAGE;
        if (mem.max >= 0 && mem.max < newMin) {
            throw new IOException("the emulator module's memory maximum (" + mem.max + " pages) is below " + newMin);
        }

        patchBundle(
                image,
                segments,
                parts,
                kernelAddr,
                kernelSize,
                initrdAddr,
                initrdSize,
                parts.rootfs() == null ? 0 : rootfsAddr,
                rootfsSize);

        // The new sections' fixed parts.
        byte[] memorySection = memorySection(mem, newMin);
        List<NewSegment> added = new ArrayList<>();
        added.add(new NewSegment(kernelAddr, kernelSize, null, parts.kernel()));
        added.add(new NewSegment(initrdAddr, initrdSize, parts.initrd(), null));
        if (rootfsSize > 0) added.add(new NewSegment(rootfsAddr, rootfsSize, null, parts.rootfs()));

        WasmSections.Section data = wasm.find(WasmSections.DATA);
        int[] p = {data.start()};
        long oldCount = Leb128.readU32(image, p);
        ByteArrayOutputStream dataHead = new ByteArrayOutputStream();
        Leb128.writeU32(dataHead, oldCount + added.size());
        long dataLen = dataHead.size() + ((long) data.end() - p[0]);
        for (NewSegment s : added) dataLen += s.header().length + s.size;
        if (dataLen > 0xffffffffL) throw new IOException("data section exceeds 4 GiB");

        Path dir = out.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + out.getFileName() + ".", ".partial");
        long written;
        try (OutputStream os = new CountingOutputStream(Files.newOutputStream(tmp), progress)) {
            os.write(image, 0, 8);
            for (WasmSections.Section s : wasm.sections) {
                switch (s.id()) {
                    case WasmSections.MEMORY -> writeSection(os, WasmSections.MEMORY, memorySection);
                    case WasmSections.DATA_COUNT -> {
                        ByteArrayOutputStream c = new ByteArrayOutputStream();
                        Leb128.writeU32(c, oldCount + added.size());
                        writeSection(os, WasmSections.DATA_COUNT, c.toByteArray());
                    }
                    case WasmSections.DATA -> {
                        os.write(WasmSections.DATA);
                        os.write(Leb128.u32(dataLen));
                        dataHead.writeTo(os);
                        os.write(image, p[0], data.end() - p[0]);
                        for (NewSegment seg : added) {
                            os.write(seg.header());
                            if (seg.bytes != null) os.write(seg.bytes);
                            else copyExactly(seg.file, seg.size, os);
                        }
                    }
                    default -> {
                        if (s.id() == WasmSections.CUSTOM && MANIFEST_SECTION.equals(s.customName())) continue;
                        os.write(s.id());
                        os.write(Leb128.u32(s.length()));
                        os.write(image, s.start(), s.length());
                    }
                }
            }
            if (parts.manifestJson() != null) {
                ByteArrayOutputStream c = new ByteArrayOutputStream();
                byte[] name = MANIFEST_SECTION.getBytes(StandardCharsets.UTF_8);
                Leb128.writeU32(c, name.length);
                c.write(name);
                c.write(parts.manifestJson());
                writeSection(os, WasmSections.CUSTOM, c.toByteArray());
            }
            os.flush();
            written = ((CountingOutputStream) os).count;
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        try {
            // createTempFile makes the file owner-only; a module is an ordinary output file (rw-r--r--)
            if (Files.getFileStore(tmp).supportsFileAttributeView("posix")) {
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
            }
            Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        return new Layout(
                kernelAddr,
                kernelSize,
                initrdAddr,
                initrdSize,
                parts.rootfs() == null ? 0 : rootfsAddr,
                rootfsSize,
                newMin,
                written);
    }

    /** The manifest JSON a packed module carries, or null when it is not a converted module. */
    public static byte[] readManifest(byte[] module) {
        return new WasmSections(module).customPayload(MANIFEST_SECTION);
    }

    /** Reads the bundle fields of a packed module: {kernelAddr, kernelSize, initrdAddr, initrdSize, rootfsAddr, rootfsSize, flags, memoryMib}. */
    public static long[] readBundle(byte[] module) {
        WasmSections wasm = new WasmSections(module);
        Segment seg = null;
        int at = -1;
        for (Segment s : readData(wasm)) {
            int i = indexOf(module, MAGIC, s.start, s.start + s.length);
            if (i >= 0) {
                seg = s;
                at = i;
                break;
            }
        }
        if (seg == null) throw new IllegalArgumentException("no c2w bundle in this module");
        ByteBuffer b = ByteBuffer.wrap(module, at, BUNDLE_SIZE).slice().order(ByteOrder.LITTLE_ENDIAN);
        return new long[] {
            u32(b, OFF_KERNEL),
            u32(b, OFF_KERNEL + 4),
            u32(b, OFF_INITRD),
            u32(b, OFF_INITRD + 4),
            u32(b, OFF_ROOTFS),
            u32(b, OFF_ROOTFS + 4),
            u32(b, OFF_FLAGS),
            u32(b, OFF_MEMORY)
        };
    }

    private static long u32(ByteBuffer b, int off) {
        return b.getInt(off) & 0xffffffffL;
    }

    private static void patchBundle(
            byte[] image,
            List<Segment> segments,
            Parts parts,
            long kernelAddr,
            long kernelSize,
            long initrdAddr,
            long initrdSize,
            long rootfsAddr,
            long rootfsSize)
            throws IOException {
        int at = -1;
        for (Segment s : segments) {
            int i = indexOf(image, MAGIC, s.start, s.start + s.length);
            if (i < 0) continue;
            if (at >= 0 || indexOf(image, MAGIC, i + 1, s.start + s.length) >= 0) {
                throw new IOException("the emulator module holds the bundle magic twice; rebuild the guest");
            }
            if (i + BUNDLE_SIZE > s.start + s.length)
                throw new IOException("bundle struct cut off by its data segment");
            at = i;
        }
        if (at < 0) {
            throw new IOException("the emulator module has no c2w bundle (built before the converter existed?); "
                    + "rebuild the guest parts: guest/dist.sh");
        }
        ByteBuffer b = ByteBuffer.wrap(image, at, BUNDLE_SIZE).slice().order(ByteOrder.LITTLE_ENDIAN);
        if (b.getInt(OFF_VERSION) != 1) throw new IOException("unsupported bundle version " + b.getInt(OFF_VERSION));
        if (b.getInt(OFF_KERNEL + 4) != 0) throw new IOException("this module is already a converted module");
        int flags = parts.rootfs() == null && parts.externalRootfsName() != null ? 1 : 0;
        b.putInt(OFF_FLAGS, flags);
        b.putInt(OFF_KERNEL, (int) kernelAddr).putInt(OFF_KERNEL + 4, (int) kernelSize);
        b.putInt(OFF_INITRD, (int) initrdAddr).putInt(OFF_INITRD + 4, (int) initrdSize);
        b.putInt(OFF_ROOTFS, (int) rootfsAddr).putInt(OFF_ROOTFS + 4, (int) rootfsSize);
        b.putInt(OFF_MEMORY, parts.memoryMib());
        putString(b, OFF_CMDLINE, CMDLINE_MAX, parts.cmdline(), "kernel command line");
        putString(b, OFF_EXTERNAL, EXTERNAL_MAX, parts.externalRootfsName(), "external bundle file name");
    }

    private static void putString(ByteBuffer b, int off, int max, String s, String what) throws IOException {
        byte[] bytes = s == null ? new byte[0] : s.getBytes(StandardCharsets.UTF_8);
        if (bytes.length >= max) throw new IOException(what + " longer than " + (max - 1) + " bytes");
        for (int k = 0; k < max; k++) b.put(off + k, k < bytes.length ? bytes[k] : 0);
    }

    private record MemoryLimits(long min, long max) {}

    private static MemoryLimits readMemory(WasmSections wasm) throws IOException {
        WasmSections.Section s = wasm.find(WasmSections.MEMORY);
        if (s == null) throw new IOException("the emulator module defines no memory");
        int[] p = {s.start()};
        if (Leb128.readU32(wasm.bytes, p) != 1) throw new IOException("the emulator module must define one memory");
        int flags = wasm.bytes[p[0]++] & 0xff;
        if (flags > 1)
            throw new IOException("shared or 64-bit memories are not supported (limits flags " + flags + ")");
        long min = Leb128.readU32(wasm.bytes, p);
        long max = flags == 1 ? Leb128.readU32(wasm.bytes, p) : -1;
        return new MemoryLimits(min, max);
    }

    private static byte[] memorySection(MemoryLimits mem, long newMin) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.write(1);
        o.write(mem.max >= 0 ? 1 : 0);
        Leb128.writeU32(o, newMin);
        if (mem.max >= 0) Leb128.writeU32(o, mem.max);
        return o.toByteArray();
    }

    /** An existing active data segment: its memory offset and where its bytes are. */
    private record Segment(long address, int start, int length) {}

    private static List<Segment> readData(WasmSections wasm) {
        WasmSections.Section s = wasm.find(WasmSections.DATA);
        if (s == null) throw new IllegalArgumentException("the emulator module has no data section");
        byte[] b = wasm.bytes;
        int[] p = {s.start()};
        long n = Leb128.readU32(b, p);
        List<Segment> out = new ArrayList<>();
        for (long k = 0; k < n; k++) {
            long flags = Leb128.readU32(b, p);
            long addr = -1;
            if (flags == 2) Leb128.readU32(b, p); // memory index
            if (flags == 0 || flags == 2) {
                if ((b[p[0]++] & 0xff) != 0x41)
                    throw new IllegalArgumentException("data segment offset is not i32.const");
                addr = Leb128.readS32(b, p) & 0xffffffffL;
                if ((b[p[0]++] & 0xff) != 0x0b)
                    throw new IllegalArgumentException("data segment offset expression too long");
            } else if (flags != 1) {
                throw new IllegalArgumentException("unknown data segment kind " + flags);
            }
            long len = Leb128.readU32(b, p);
            if (len > s.end() - p[0]) throw new IllegalArgumentException("data segment runs past its section");
            if (addr >= 0) out.add(new Segment(addr, p[0], (int) len));
            p[0] += (int) len;
        }
        return out;
    }

    @SuppressWarnings("ArrayRecordComponent") // a carrier of bytes, never compared or hashed
    private record NewSegment(long address, long size, byte[] bytes, Path file) {
        byte[] header() {
            ByteArrayOutputStream o = new ByteArrayOutputStream();
            o.write(0);
            o.write(0x41);
            Leb128.writeS32(o, (int) address);
            o.write(0x0b);
            Leb128.writeU32(o, size);
            return o.toByteArray();
        }
    }

    private static void writeSection(OutputStream os, int id, byte[] payload) throws IOException {
        os.write(id);
        os.write(Leb128.u32(payload.length));
        os.write(payload);
    }

    private static void copyExactly(Path file, long size, OutputStream os) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 20];
            long done = 0;
            while (done < size) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, size - done));
                if (n < 0) throw new IOException(file + " shrank while it was packed");
                os.write(buf, 0, n);
                done += n;
            }
        }
    }

    static long align(long v) {
        return (v + PAGE - 1) / PAGE * PAGE;
    }

    static int indexOf(byte[] hay, byte[] needle, int from, int to) {
        outer:
        for (int i = Math.max(from, 0); i + needle.length <= to; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        return -1;
    }

    private static final class CountingOutputStream extends FilterOutputStream {
        long count;
        private final LongConsumer progress;

        CountingOutputStream(OutputStream out, LongConsumer progress) {
            super(new BufferedOutputStream(out, 1 << 16));
            this.progress = progress == null ? x -> {} : progress;
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
            if (len >= 4096) progress.accept(count);
        }
    }

    static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (byte x : b) sb.append(String.format("%02x", x));
        return sb.toString();
    }

    static byte[] concat(byte[]... parts) {
        int n = Arrays.stream(parts).mapToInt(a -> a.length).sum();
        byte[] out = new byte[n];
        int o = 0;
        for (byte[] a : parts) {
            System.arraycopy(a, 0, out, o, a.length);
            o += a.length;
        }
        return out;
    }
}
