package dev.c2w.testkit;

import java.util.Random;

/**
 * Random piece sizes for cutting a byte stream the way a network may: many tiny pieces (a length prefix
 * split across reads), many small ones, and some up to a maximum, so framing code meets every boundary.
 */
public final class StreamPieces {
    private StreamPieces() {}

    /** The size of the next piece: 1-3 bytes (30 %), 4-203 (40 %), else 1 to {@code maxPiece}. */
    public static int nextSize(Random rnd, int maxPiece) {
        int kind = rnd.nextInt(10);
        if (kind < 3) {
            return 1 + rnd.nextInt(3);
        } else if (kind < 7) {
            return 4 + rnd.nextInt(200);
        }
        return 1 + rnd.nextInt(Math.max(1, maxPiece));
    }
}
