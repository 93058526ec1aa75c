package dev.c2w.converter.pack;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import org.apache.commons.compress.archivers.cpio.CpioArchiveEntry;
import org.apache.commons.compress.archivers.cpio.CpioArchiveOutputStream;
import org.apache.commons.compress.archivers.cpio.CpioConstants;

/**
 * The guest's initramfs: our init as {@code /init}, the image's run configuration as
 * {@code /c2w/image.conf}, and the mount points init uses before it switches into the container's
 * root. An uncompressed newc archive, a few hundred KiB; the container's files are not here but in
 * the erofs image served as a block device.
 */
public final class Initramfs {
    private Initramfs() {}

    public static byte[] build(byte[] init, byte[] imageConf, long mtime) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (CpioArchiveOutputStream cpio = new CpioArchiveOutputStream(bytes, CpioConstants.FORMAT_NEW)) {
            for (String d : new String[] {"c2w", "dev", "proc", "sys", "tmp", "run", "mnt", "root"}) {
                dir(cpio, d, mtime);
            }
            file(cpio, "init", 0755, init, mtime);
            file(cpio, "c2w/image.conf", 0644, imageConf, mtime);
        }
        return bytes.toByteArray();
    }

    private static void dir(CpioArchiveOutputStream cpio, String name, long mtime) throws IOException {
        CpioArchiveEntry e = new CpioArchiveEntry(CpioConstants.FORMAT_NEW, name);
        e.setMode(CpioConstants.C_ISDIR | 0755);
        e.setNumberOfLinks(2);
        e.setTime(mtime);
        cpio.putArchiveEntry(e);
        cpio.closeArchiveEntry();
    }

    private static void file(CpioArchiveOutputStream cpio, String name, int mode, byte[] data, long mtime)
            throws IOException {
        CpioArchiveEntry e = new CpioArchiveEntry(CpioConstants.FORMAT_NEW, name, data.length);
        e.setMode(CpioConstants.C_ISREG | mode);
        e.setNumberOfLinks(1);
        e.setTime(mtime);
        cpio.putArchiveEntry(e);
        cpio.write(data);
        cpio.closeArchiveEntry();
    }
}
