package dev.c2w.converter.image;

import java.util.Objects;

/**
 * An image platform: os, architecture and an optional variant (null = any). Written as
 * {@code os/arch[/variant]}, e.g. {@code linux/riscv64}, {@code linux/arm/v7}.
 */
public record Platform(String os, String architecture, String variant) {
    /** What c2w runs: the guest is 64-bit RISC-V Linux. */
    public static final Platform DEFAULT = new Platform("linux", "riscv64", null);

    public Platform {
        Objects.requireNonNull(os, "os");
        Objects.requireNonNull(architecture, "architecture");
        if (variant != null && variant.isEmpty()) variant = null;
    }

    /** linux with the given architecture, any variant. */
    public static Platform linux(String architecture) {
        return new Platform("linux", architecture, null);
    }

    /** Parses {@code os/arch[/variant]}, or a bare {@code arch} meaning linux/arch. */
    public static Platform parse(String s) {
        String[] p = s.split("/", -1);
        for (String x : p) {
            if (x.isEmpty())
                throw new IllegalArgumentException("invalid platform \"" + s + "\": want os/arch[/variant]");
        }
        return switch (p.length) {
            case 1 -> linux(p[0]);
            case 2 -> new Platform(p[0], p[1], null);
            case 3 -> new Platform(p[0], p[1], p[2]);
            default -> throw new IllegalArgumentException("invalid platform \"" + s + "\": want os/arch[/variant]");
        };
    }

    /**
     * Whether an image of platform {@code os/arch/variant} fits this one: os and architecture equal,
     * the variant only compared when this platform names one.
     */
    public boolean matches(String os, String arch, String variant) {
        return this.os.equals(os)
                && architecture.equals(arch)
                && (this.variant == null || this.variant.equals(variant));
    }

    @Override
    public String toString() {
        return os + "/" + architecture + (variant == null ? "" : "/" + variant);
    }
}
