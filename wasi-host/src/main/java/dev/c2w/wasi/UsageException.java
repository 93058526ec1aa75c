package dev.c2w.wasi;

/**
 * A problem with how the command was used (a bad flag value, a missing file, an address that does not
 * parse), to be shown to the user as one line instead of a stack trace. Whoever catches it decides the
 * exit status: c2w-net's option handling prints the message with a hint to run --help and exits 2;
 * the WASI runner prints it and returns its runner status (125). It lives here, above the cli and wasi
 * packages, because cli depends on wasi and both throw it.
 */
public final class UsageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public UsageException(String message) {
        super(message);
    }
}
