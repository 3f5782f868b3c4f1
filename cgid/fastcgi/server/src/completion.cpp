// SPDX-License-Identifier: Apache-2.0
#include "suwrap/fastcgi/server/completion.hpp"

#include <stdexcept>
#include <utility>

#include <asio/co_spawn.hpp>

#include "suwrap/fastcgi/encoder.hpp"

namespace suwrap::fastcgi {

Completion::Completion(asio::any_io_executor executor, std::string task, Log log,
                       std::shared_ptr<const RequestInFlight> request)
    : executor_(std::move(executor)), task_(std::move(task)), log_(std::move(log)), request_(std::move(request)) {}

Completion Completion::with_request(std::shared_ptr<const RequestInFlight> request) const {
  return Completion(executor_, task_, log_, std::move(request));
}

void Completion::operator()(const std::exception_ptr& error) const {
  if (!error) return;
  log_(task_, describe(error));
  if (!request_ || request_->ended()) return;
  std::string records;
  if (!request_->answer_started()) append_stdout(records, request_->request_id, internal_error_response);
  // Ending the request is a coroutine too, and ends here as well, with nothing left to
  // answer should it fail in turn.
  spawn(executor_, request_->end(std::move(records)), Completion(executor_, task_ + " (its answer)", log_));
}

std::string describe(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

void spawn(const asio::any_io_executor& executor, asio::awaitable<void> task, Completion done) {
  asio::co_spawn(executor, std::move(task), std::move(done));
}

}  // namespace suwrap::fastcgi
