#pragma once
// Turns an outbox record into the text of an Internet message (RFC 5322 with MIME).
//
// Every message is `multipart/alternative` with a UTF-8 `text/plain` part and a `text/html`
// part, both quoted-printable: the HTML is the record's html_body, or, when that is empty, HTML
// made from the text (escaped, one paragraph per blank-line-separated block, http(s) URLs made
// into links). Headers: From (with the display name), To, Subject (RFC 2047 when not ASCII),
// Date (when the record was queued), Message-ID `<outbox-<id>@<domain of the sender>>` (the
// same on every attempt, so a resend after a crash is recognisable), MIME-Version,
// Auto-Submitted: auto-generated, and X-Sendflow-Recipient / X-Sendflow-Instance for tracing.
//
// Header injection is refused, not repaired: a CR or LF in the subject or a recipient is
// kInvalidArgument naming the field. All functions are pure and thread-safe.

#include <string>
#include <vector>

#include "server/core/status.h"
#include "server/store/store.h"

namespace sendflow::mail {

// Who the service's mail comes from (mail.from, mail.from_name).
struct MailSender {
  std::string address;       // "sendflow@council.example"
  std::string display_name;  // "SEND quality assurance"; empty: the address alone
};

// kInvalidArgument when `address` is not a plain addr-spec ("local@domain", no spaces, angle
// brackets, quotes, commas or line breaks). `field` names it in the message.
core::Status checkAddress(const std::string& address, const std::string& field);
// checkAddress on the address, and no line break in the display name.
core::Status checkSender(const MailSender& sender);

// The message text for `record` sent to `to` (addresses, at least one). CRLF line ends.
// kInvalidArgument for a bad recipient, sender or subject (see above).
core::StatusOr<std::string> formatMimeMessage(const store::OutboxRecord& record,
                                              const std::vector<std::string>& to,
                                              const MailSender& from);

// "<outbox-42@council.example>" for record 42 sent from "qa@council.example".
std::string messageIdFor(long long outbox_id, const std::string& from_address);

// HTML (a whole document) for a plain-text body: every character escaped, blocks separated by
// a blank line become paragraphs, single line breaks become <br>, http:// and https:// URLs
// become links (trailing punctuation stays outside the link). `title` is escaped too.
std::string htmlFromText(const std::string& text, const std::string& title);

// Quoted-printable (RFC 2045) of UTF-8 text. Line breaks (LF or CRLF) become CRLF; lines are
// soft-broken at 76 characters; '=', non-ASCII bytes, controls and whitespace before a line
// break are encoded.
std::string encodeQuotedPrintable(const std::string& text);

// An unstructured header value: ASCII as is (folded at spaces when long), otherwise RFC 2047
// "=?UTF-8?B?...?=" words of at most 75 characters, never splitting a UTF-8 character.
std::string encodeHeaderText(const std::string& text);

}  // namespace sendflow::mail
