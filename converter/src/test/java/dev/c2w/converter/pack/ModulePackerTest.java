package dev.c2w.converter.pack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.dylibso.chicory.wasm.Parser;
import com.dylibso.chicory.wasm.WasmModule;
import com.dylibso.chicory.wasm.types.ActiveDataSegment;
import com.dylibso.chicory.wasm.types.DataSegment;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Packing into a minimal hand-made module that has the emulator's bundle struct; output parsed by Chicory. */
class ModulePackerTest {
    @TempDir
    Path tmp;

    /** (module (memory 2) (data (i32.const 1024) BUNDLE) (data (i32.const 4096) "xy")) with a custom section. */
    static byte[] fakeEmulator(boolean twoMagics) {
        ByteArrayOutputStream m = new ByteArrayOutputStream();
        m.writeBytes(new byte[] {0, 'a', 's', 'm', 1, 0, 0, 0});
        section(m, 5, new byte[] {1, 0, 2}); // one memory, min 2 pages
        byte[] bundle = new byte[ModulePacker.BUNDLE_SIZE + (twoMagics ? 16 : 0)];
        System.arraycopy(ModulePacker.MAGIC, 0, bundle, 0, 16);
        bundle[16] = 1;
        if (twoMagics) System.arraycopy(ModulePacker.MAGIC, 0, bundle, ModulePacker.BUNDLE_SIZE, 16);
        ByteArrayOutputStream d = new ByteArrayOutputStream();
        Leb128.writeU32(d, 2);
        segment(d, 1024, bundle);
        segment(d, 4096, "xy".getBytes(StandardCharsets.US_ASCII));
        section(m, 11, d.toByteArray());
        ByteArrayOutputStream c = new ByteArrayOutputStream();
        c.write(4);
        c.writeBytes("keep".getBytes(StandardCharsets.US_ASCII));
        c.writeBytes(new byte[] {1, 2, 3});
        section(m, 0, c.toByteArray());
        return m.toByteArray();
    }

    static void segment(ByteArrayOutputStream d, int addr, byte[] bytes) {
        d.write(0);
        d.write(0x41);
        Leb128.writeS32(d, addr);
        d.write(0x0b);
        Leb128.writeU32(d, bytes.length);
        d.writeBytes(bytes);
    }

    static void section(ByteArrayOutputStream m, int id, byte[] payload) {
        m.write(id);
        Leb128.writeU32(m, payload.length);
        m.writeBytes(payload);
    }

    @Test
    void partsBecomeDataSegmentsAboveTheOriginalMemoryAndTheBundleHoldsTheirPlace() throws IOException {
        Path kernel = tmp.resolve("Image");
        byte[] kernelBytes = new byte[100_000];
        for (int i = 0; i < kernelBytes.length; i++) kernelBytes[i] = (byte) (i * 7);
        Files.write(kernel, kernelBytes);
        Path rootfs = tmp.resolve("rootfs.erofs");
        byte[] rootfsBytes = new byte[70_000];
        rootfsBytes[0] = 42;
        Files.write(rootfs, rootfsBytes);
        byte[] initrd = "initrd-bytes".getBytes(StandardCharsets.US_ASCII);
        Path out = tmp.resolve("out.wasm");
        ModulePacker.Layout layout = ModulePacker.pack(
                fakeEmulator(false),
                new ModulePacker.Parts(kernel, initrd, rootfs, "console=hvc0", null, 512, "{\"a\":1}".getBytes()),
                out,
                null);

        assertThat(layout.kernelAddr()).isEqualTo(2 * 65536);
        assertThat(layout.initrdAddr()).isEqualTo(4 * 65536); // 100 000 bytes rounded up to 2 pages
        assertThat(layout.rootfsAddr()).isEqualTo(5 * 65536);
        assertThat(layout.memoryPages()).isEqualTo(7);
        assertThat(Files.size(out)).isEqualTo(layout.outputSize());
        assertThat(tmp.toFile().list()).containsExactlyInAnyOrder("Image", "rootfs.erofs", "out.wasm");

        byte[] packed = Files.readAllBytes(out);
        WasmModule module = Parser.parse(packed);
        assertThat(module.memorySection().get().getMemory(0).limits().initialPages())
                .isEqualTo(7);
        List<DataSegment> segs = List.of(module.dataSection().dataSegments());
        assertThat(segs).hasSize(5);
        ActiveDataSegment k = (ActiveDataSegment) segs.get(2);
        assertThat(k.data()).isEqualTo(kernelBytes);
        assertThat(((ActiveDataSegment) segs.get(3)).data()).isEqualTo(initrd);
        assertThat(((ActiveDataSegment) segs.get(4)).data()).isEqualTo(rootfsBytes);

        byte[] bundle = ((ActiveDataSegment) segs.get(0)).data();
        ByteBuffer b = ByteBuffer.wrap(bundle).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(b.getInt(ModulePacker.OFF_KERNEL)).isEqualTo(2 * 65536);
        assertThat(b.getInt(ModulePacker.OFF_KERNEL + 4)).isEqualTo(100_000);
        assertThat(b.getInt(ModulePacker.OFF_INITRD + 4)).isEqualTo(initrd.length);
        assertThat(b.getInt(ModulePacker.OFF_ROOTFS)).isEqualTo(5 * 65536);
        assertThat(b.getInt(ModulePacker.OFF_MEMORY)).isEqualTo(512);
        assertThat(new String(bundle, ModulePacker.OFF_CMDLINE, 12, StandardCharsets.US_ASCII))
                .isEqualTo("console=hvc0");
        assertThat(bundle[ModulePacker.OFF_CMDLINE + 12]).isZero();

        assertThat(ModulePacker.readManifest(packed)).isEqualTo("{\"a\":1}".getBytes());
        assertThat(ModulePacker.readBundle(packed))
                .containsExactly(2 * 65536, 100_000, 4 * 65536, initrd.length, 5 * 65536, 70_000, 0, 512);
        // a custom section survives byte for byte
        assertThat(new WasmSections(packed).customPayload("keep")).containsExactly(1, 2, 3);
    }

    @Test
    void anAlreadyPackedModuleOrATwiceMarkedOneIsRefusedAndNothingIsLeftBehind() throws IOException {
        Path kernel = Files.write(tmp.resolve("Image"), new byte[10]);
        Path out = tmp.resolve("out.wasm");
        ModulePacker.Parts parts = new ModulePacker.Parts(kernel, new byte[1], null, "", "rootfs.erofs", 0, null);
        ModulePacker.pack(fakeEmulator(false), parts, out, null);
        assertThat(ModulePacker.readBundle(Files.readAllBytes(out))[6]).isEqualTo(1); // external flag

        Path out2 = tmp.resolve("again.wasm");
        assertThatThrownBy(() -> ModulePacker.pack(Files.readAllBytes(out), parts, out2, null))
                .hasMessageContaining("already a converted module");
        assertThatThrownBy(() -> ModulePacker.pack(fakeEmulator(true), parts, out2, null))
                .hasMessageContaining("magic twice");
        assertThatThrownBy(() -> ModulePacker.pack(new byte[] {0, 'a', 's', 'm', 1, 0, 0, 0, 5, 9}, parts, out2, null))
                .hasMessageContaining("past the end");
        assertThat(out2).doesNotExist();
        assertThat(tmp.toFile().list()).containsExactlyInAnyOrder("Image", "out.wasm");
    }

    @Test
    void aRootfsTooLargeForA32BitMemoryIsRefusedWithAWayOut() throws IOException {
        Path kernel = Files.write(tmp.resolve("Image"), new byte[10]);
        Path big = tmp.resolve("big.erofs");
        try (var ch = FileChannel.open(big, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[1]), 3_900_000_000L); // sparse
        }
        assertThatThrownBy(() -> ModulePacker.pack(
                        fakeEmulator(false),
                        new ModulePacker.Parts(kernel, new byte[1], big, "", null, 0, null),
                        tmp.resolve("o.wasm"),
                        null))
                .hasMessageContaining("--external-bundle");
    }
}
