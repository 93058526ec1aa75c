package dev.c2w.tls;

/**
 * The CA directory is unusable; the message names the file and the remedy.
 *
 * <p>Thrown when the CA directory cannot be used as it is: unreadable, half-written, corrupt, or holding a key
 * that does not belong to the certificate. The message always says which file is wrong and what the user can
 * do about it; the directory is never replaced behind the user's back, since the guest images trust that CA.
 */
public final class CaStoreException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CaStoreException(String message) {
        super(message);
    }

    public CaStoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
