package org.idpkit.keycloak.kms;

/** A KMS call that did not produce a usable answer; {@code retryable} says whether another attempt may help. */
public class KmsException extends Exception {

    private final boolean retryable;

    public KmsException(String message, boolean retryable) {
        super(message);
        this.retryable = retryable;
    }

    public boolean retryable() {
        return retryable;
    }
}
