package dev.c2w.testkit;

import java.io.ByteArrayOutputStream;

/** Tiny Wasm modules written byte by byte, for tests that need a module but no toolchain. */
public final class WasmModules {
    private WasmModules() {}

    /** A module with one memory of {@code pages} pages (no maximum) and an empty exported _start. */
    public static byte[] withMemory(int pages) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(new byte[] {0, 'a', 's', 'm', 1, 0, 0, 0});
        b.writeBytes(new byte[] {1, 4, 1, 0x60, 0, 0}); // type: () -> ()
        b.writeBytes(new byte[] {3, 2, 1, 0}); // function 0 has type 0
        byte[] min = leb(pages);
        b.write(5);
        b.write(2 + min.length);
        b.write(1);
        b.write(0);
        b.writeBytes(min); // memory: min pages, no max
        b.writeBytes(new byte[] {7, 10, 1, 6, '_', 's', 't', 'a', 'r', 't', 0, 0});
        b.writeBytes(new byte[] {10, 4, 1, 2, 0, 0x0b}); // code: empty body
        return b.toByteArray();
    }

    /** Unsigned LEB128. */
    public static byte[] leb(int v) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int rest = v;
        do {
            int x = rest & 0x7f;
            rest >>>= 7;
            b.write(rest != 0 ? x | 0x80 : x);
        } while (rest != 0);
        return b.toByteArray();
    }
}
