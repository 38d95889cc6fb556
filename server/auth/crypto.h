#pragma once
// The small pieces of cryptography the sign-in module shares, over OpenSSL: base64url (RFC 4648
// section 5, no padding), SHA-256, HMAC-SHA256, random bytes and constant-time comparison.
// Internal to server/auth; other modules use SessionCodec::randomToken.
// All functions are thread-safe.

#include <optional>
#include <string>
#include <string_view>

namespace sendflow::auth::crypto {

// base64url without padding.
std::string base64UrlEncode(std::string_view bytes);
// Accepts base64url with or without padding; nullopt for any other character or a length that
// cannot be base64.
std::optional<std::string> base64UrlDecode(std::string_view text);

std::string sha256(std::string_view bytes);                              // 32 raw bytes
std::string hmacSha256(std::string_view key, std::string_view message);  // 32 raw bytes
// `count` bytes from RAND_bytes; aborts the process if the generator fails (never weak output).
std::string randomBytes(int count);

// True when a and b are equal; the time taken depends only on the lengths (CRYPTO_memcmp).
bool constantTimeEquals(std::string_view a, std::string_view b);

std::string toHex(std::string_view bytes);                 // lower case
std::optional<std::string> fromHex(std::string_view hex);  // either case

}  // namespace sendflow::auth::crypto
