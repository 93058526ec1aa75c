package dev.c2w.netstack.lan;

import dev.c2w.netstack.link.GuestPort;

/**
 * The gateway's port on the {@link Switch}: frames it hands in go out to the guests like any port's, and it
 * can ask whether the link towards a guest takes more frames before it sends.
 */
public interface RouterPort extends GuestPort {
    /** Whether the link of the guest with {@code mac} takes frames now (unknown guests: yes). */
    boolean isWritable(long mac);
}
