package dev.c2w.systemtests;

import java.util.Set;

/**
 * What a stack offers the guest: the MAC the guest's NIC gets and the address DHCP must
 * hand it, which modes it supports, whether the DNS-through-upstream and port-forward
 * steps apply, and whether the guest may half-close its upload (shutdown of its sending
 * side, then read the answer).
 */
public record GuestProfile(
        String mac,
        String expectedIp,
        Set<StackUnderTest.Mode> modes,
        boolean dnsViaStub,
        boolean portForwards,
        boolean halfClose) {
    public static final String SUBNET_PREFIX = "192.168.127.";
    public static final String GATEWAY = "192.168.127.1";
    public static final String HOST_ALIAS = "192.168.127.254";
}
