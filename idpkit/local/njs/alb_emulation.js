// The local front door's stand-in for the AWS ALB in mutual-TLS `verify` mode: after nginx has
// verified the client certificate, emit the same headers, with the same encoding, as the ALB does.

const MONTHS = {Jan: '01', Feb: '02', Mar: '03', Apr: '04', May: '05', Jun: '06',
                Jul: '07', Aug: '08', Sep: '09', Oct: '10', Nov: '11', Dec: '12'};

// ALB: URL-encoded PEM with '+', '=' and '/' as safe (unencoded) characters.
function leaf(r) {
    const pem = r.variables.ssl_client_raw_cert;
    if (!pem) {
        return '';
    }
    return encodeURIComponent(pem).replace(/%2B/g, '+').replace(/%3D/g, '=').replace(/%2F/g, '/');
}

// OpenSSL prints "Sep 21 01:50:17 2025 GMT"; the ALB sends ISO 8601, e.g. 2025-09-21T01:50:17Z.
function iso8601(openssl) {
    const parts = openssl.replace(/\s+/g, ' ').trim().split(' ');
    const day = parts[1].length === 1 ? '0' + parts[1] : parts[1];
    return parts[3] + '-' + MONTHS[parts[0]] + '-' + day + 'T' + parts[2] + 'Z';
}

function validity(r) {
    const start = r.variables.ssl_client_v_start;
    const end = r.variables.ssl_client_v_end;
    if (!start || !end) {
        return '';
    }
    return 'NotBefore=' + iso8601(start) + ';NotAfter=' + iso8601(end);
}

export default {leaf, validity};
