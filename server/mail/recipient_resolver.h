#pragma once
// Who an outbox recipient is. Transitions address mail to an email address, a user id, or
// "role:<role>" (everyone with that role); the OutboxDispatcher asks a RecipientResolver for the
// addresses and sends one message to all of them.

#include <functional>
#include <string>
#include <vector>

#include "server/core/status.h"
#include "server/store/store.h"

namespace sendflow::mail {

// Turns an outbox recipient into the addresses to send to. kInvalidArgument or kNotFound when
// it names nobody with an address (a permanent failure: the message says who and why); any
// other error (the directory not answering) is retried. Called from the dispatching thread.
using RecipientResolver =
    std::function<core::StatusOr<std::vector<std::string>>(const std::string& recipient)>;

// The resolver for when there is no user directory: an email address resolves to itself;
// anything else (a user id, "role:<role>") is kInvalidArgument.
core::StatusOr<std::vector<std::string>> resolveAddressOnly(const std::string& recipient);

// A resolver over the people the store knows (store::UserRecord, kept by the user directory
// from its file and from sign-ins):
//   an email address            -> itself
//   "role:<role>"               -> the address of every user with that role, sorted by user
//                                  id; kInvalidArgument "role:manager: no user with this role
//                                  has an email address" when there is none
//   a user id                   -> that user's address; kNotFound when there is no such user,
//                                  kInvalidArgument when they have no address
// Store errors come back as they are (retried). `store` must outlive the resolver.
RecipientResolver userDirectoryResolver(store::Store& store);

}  // namespace sendflow::mail
