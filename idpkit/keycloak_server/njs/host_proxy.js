// Host-local proxy (runs on every Keycloak host, and in the local stack): turns the load balancer's
// mutual-TLS leaf header into the RFC 9440 `Client-Cert` header Keycloak's `rfc9440` lookup reads.
//
// The AWS ALB sends `X-Amzn-Mtls-Clientcert-Leaf`: the leaf's PEM, URL-encoded with '+', '=' and '/'
// left unescaped. Form-decoding it (as Keycloak's nginx provider does) turns '+' into a space and
// corrupts the certificate; decodeURIComponent keeps '+' as it is.

const PEM_ARMOR = /-----(BEGIN|END) CERTIFICATE-----/g;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

// RFC 9440 §2.2: a Structured Field byte sequence, `:<base64 of the DER certificate>:`.
// Anything malformed yields "" so that nginx sends no header and Keycloak sees no certificate.
function rfc9440ClientCert(r) {
    const leaf = r.headersIn['X-Amzn-Mtls-Clientcert-Leaf'];
    if (!leaf) {
        return '';
    }
    let pem;
    try {
        pem = decodeURIComponent(leaf);
    } catch (e) {
        r.warn('host proxy: undecodable X-Amzn-Mtls-Clientcert-Leaf dropped');
        return '';
    }
    const body = pem.replace(PEM_ARMOR, '').replace(/\s+/g, '');
    if (!BASE64.test(body)) {
        r.warn('host proxy: X-Amzn-Mtls-Clientcert-Leaf is not a PEM certificate; dropped');
        return '';
    }
    return ':' + body + ':';
}

export default {rfc9440ClientCert};
