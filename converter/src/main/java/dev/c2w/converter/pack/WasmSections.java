package dev.c2w.converter.pack;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The section list of a WebAssembly binary, read without decoding what the packer does not touch.
 * Every length is checked against the buffer before it is used.
 */
final class WasmSections {
    static final int CUSTOM = 0, MEMORY = 5, EXPORT = 7, START = 8, DATA = 11, DATA_COUNT = 12;

    /** One section: its id and where its contents are in {@code bytes}. */
    record Section(int id, int start, int length, String customName) {
        int end() {
            return start + length;
        }
    }

    final byte[] bytes;
    final List<Section> sections = new ArrayList<>();

    WasmSections(byte[] bytes) {
        this.bytes = bytes;
        if (bytes.length < 8 || bytes[0] != 0 || bytes[1] != 'a' || bytes[2] != 's' || bytes[3] != 'm') {
            throw new IllegalArgumentException("not a WebAssembly module (no \\0asm header)");
        }
        if (bytes[4] != 1 || bytes[5] != 0 || bytes[6] != 0 || bytes[7] != 0) {
            throw new IllegalArgumentException("unsupported WebAssembly version");
        }
        int[] pos = {8};
        while (pos[0] < bytes.length) {
            int id = bytes[pos[0]++] & 0xff;
            long len = Leb128.readU32(bytes, pos);
            if (len > bytes.length - pos[0]) throw new IllegalArgumentException("section " + id + " runs past the end");
            String name = null;
            if (id == CUSTOM) {
                int[] p = {pos[0]};
                long n = Leb128.readU32(bytes, p);
                if (n <= pos[0] + len - p[0]) name = new String(bytes, p[0], (int) n, StandardCharsets.UTF_8);
            }
            sections.add(new Section(id, pos[0], (int) len, name));
            pos[0] += (int) len;
        }
    }

    Section find(int id) {
        for (Section s : sections) if (s.id() == id) return s;
        return null;
    }

    Section findCustom(String name) {
        for (Section s : sections) if (s.id() == CUSTOM && name.equals(s.customName())) return s;
        return null;
    }

    /** The contents of a custom section after its name, or null. */
    byte[] customPayload(String name) {
        Section s = findCustom(name);
        if (s == null) return null;
        int[] p = {s.start()};
        long n = Leb128.readU32(bytes, p);
        int from = p[0] + (int) n;
        byte[] out = new byte[s.end() - from];
        System.arraycopy(bytes, from, out, 0, out.length);
        return out;
    }
}
