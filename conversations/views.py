import uuid

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import account_required
from accounts.ratelimit import RateLimited, chat_send_throttle, rate_limited_response
from conversations.models import Message
from conversations.selectors import (
    approval_for_user,
    conversation_get,
    conversations_search,
    message_in_conversation,
    messages_for_conversation,
)
from conversations.services import (
    ApprovalAlreadyDecided,
    ReplyInFlight,
    approval_decide,
    conversation_delete,
    conversation_rename,
    conversation_start,
    message_feedback_set,
    message_send,
    reply_cancel,
    reply_regenerate,
    reply_select,
)
from conversations.uncertain_calls import tool_call_in_conversation, tool_call_resolve


def _composer_error(request: HttpRequest, error: ValidationError, status: int) -> HttpResponse:
    response = render(
        request, "conversations/_composer_error.html", {"error": " ".join(error.messages)}, status=status
    )
    # htmx swaps error responses into the composer's error slot, not the message list.
    response["HX-Retarget"] = "#composer-error"
    response["HX-Reswap"] = "innerHTML"
    return response


def _composer_rate_limited(request: HttpRequest, error: RateLimited) -> HttpResponse:
    if request.headers.get("HX-Request"):
        response = render(request, "conversations/_composer_error.html", {"error": error.message}, status=429)
        response["HX-Retarget"] = "#composer-error"
        response["HX-Reswap"] = "innerHTML"
        response["Retry-After"] = str(error.retry_after)
        return response
    return rate_limited_response(request, error)


def _own_message(request: HttpRequest, pk: int, message_id: int) -> tuple:
    """(conversation, message) of the user's own conversation in the current account, or 404."""
    conversation = conversation_get(account=request.account, user=request.user, pk=pk)
    message = message_in_conversation(conversation_id=conversation.pk, pk=message_id)
    if message is None:
        raise Http404("No such message.")
    return conversation, message


def _conversation_list(request: HttpRequest, current_pk: int | None = None) -> dict:
    query = request.GET.get("q", "").strip()[:200]
    return {
        "conversations": conversations_search(account=request.account, user=request.user, query=query)[:100],
        "query": query,
        "current_pk": current_pk,
    }


@require_GET
@account_required
def chat(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "conversations/chat.html",
        {**_conversation_list(request), "max_chars": settings.CHAT_MESSAGE_MAX_CHARS},
    )


@require_GET
@account_required
def conversation_list(request: HttpRequest) -> HttpResponse:
    """The conversation list alone, filtered by ``q``: the search box swaps it in as one types."""
    current = request.GET.get("current", "")
    context = _conversation_list(request, current_pk=int(current) if current.isdigit() else None)
    return render(request, "conversations/_conversation_list.html", context)


@require_GET
@account_required
def conversation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = conversation_get(account=request.account, user=request.user, pk=pk)
    return render(
        request,
        "conversations/chat.html",
        {
            **_conversation_list(request, current_pk=conversation.pk),
            "conversation": conversation,
            "chat_messages": messages_for_conversation(conversation=conversation),
            "max_chars": settings.CHAT_MESSAGE_MAX_CHARS,
        },
    )


@require_POST
@account_required
def conversation_rename_view(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = conversation_get(account=request.account, user=request.user, pk=pk)
    try:
        conversation_rename(conversation=conversation, title=request.POST.get("title", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("conversations:conversation", pk=conversation.pk)


@require_POST
@account_required
def conversation_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = conversation_get(account=request.account, user=request.user, pk=pk)
    conversation_delete(conversation=conversation)
    messages.success(request, f"Deleted “{conversation}”.")
    return redirect("conversations:chat")


@require_POST
@account_required
def conversation_create(request: HttpRequest) -> HttpResponse:
    try:
        chat_send_throttle(user=request.user)
        with transaction.atomic():  # no empty conversation is left behind by bad input
            conversation = conversation_start(account=request.account, user=request.user)
            message_send(
                conversation=conversation, user=request.user, content=request.POST.get("message", "")
            )
    except RateLimited as error:
        return _composer_rate_limited(request, error)
    except ValidationError as error:
        return _composer_error(request, error, status=400)
    url = reverse("conversations:conversation", args=[conversation.pk])
    if request.headers.get("HX-Request"):
        return HttpResponse(status=201, headers={"HX-Redirect": url})
    return redirect(url)


@require_POST
@account_required
def message_create(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = conversation_get(account=request.account, user=request.user, pk=pk)
    try:
        chat_send_throttle(user=request.user)
        question, reply = message_send(
            conversation=conversation, user=request.user, content=request.POST.get("message", "")
        )
    except RateLimited as error:
        return _composer_rate_limited(request, error)
    except ReplyInFlight as error:
        return _composer_error(request, error, status=409)
    except ValidationError as error:
        return _composer_error(request, error, status=400)
    if not request.headers.get("HX-Request"):
        return redirect("conversations:conversation", pk=conversation.pk)
    question.queued = reply.status == Message.Status.QUEUED  # known here: the template asks no query
    return render(
        request, "conversations/_message_pair.html", {"question": question, "reply": reply}, status=201
    )


@require_POST
@account_required
def message_stop(request: HttpRequest, pk: int, message_id: int) -> HttpResponse:
    conversation, reply = _own_message(request, pk, message_id)
    reply = reply_cancel(reply=reply)
    if not request.headers.get("HX-Request"):
        return redirect("conversations:conversation", pk=conversation.pk)
    return render(request, "conversations/_message.html", {"message": reply})


@require_POST
@account_required
def approval_decide_view(request: HttpRequest, pk: int, approval_id: uuid.UUID) -> HttpResponse:
    conversation = conversation_get(account=request.account, user=request.user, pk=pk)
    approval = approval_for_user(user=request.user, public_id=approval_id, account=request.account)
    decision = request.POST.get("decision")
    if approval.conversation_id != conversation.pk:
        raise Http404("No such approval.")
    if decision not in {"approve", "deny"}:
        return HttpResponse("decision must be 'approve' or 'deny'.", status=400)
    try:
        approval_decide(
            approval=approval,
            user=request.user,
            approve=decision == "approve",
            allow_for_conversation=request.POST.get("allow_for_conversation") == "on",
        )
    except ApprovalAlreadyDecided as error:
        return HttpResponse(" ".join(error.messages), status=409)
    reply = message_in_conversation(conversation_id=conversation.pk, pk=approval.tool_call.turn.reply_id)
    if not request.headers.get("HX-Request"):
        return redirect("conversations:conversation", pk=conversation.pk)
    return render(request, "conversations/_message.html", {"message": reply})


@require_POST
@account_required
def tool_call_resolve_view(request: HttpRequest, pk: int, call_id: int) -> HttpResponse:
    """The owner's "it ran" / "run it again" on an action that may or may not have run."""
    conversation = conversation_get(account=request.account, user=request.user, pk=pk)
    call = tool_call_in_conversation(conversation_id=conversation.pk, pk=call_id)
    outcome = request.POST.get("outcome")
    if outcome not in {"ran", "run_again"}:
        return HttpResponse("outcome must be 'ran' or 'run_again'.", status=400)
    try:
        tool_call_resolve(tool_call=call, user=request.user, ran=outcome == "ran")
    except ApprovalAlreadyDecided as error:
        return HttpResponse(" ".join(error.messages), status=409)
    reply = message_in_conversation(conversation_id=conversation.pk, pk=call.turn.reply_id)
    if not request.headers.get("HX-Request"):
        return redirect("conversations:conversation", pk=conversation.pk)
    return render(request, "conversations/_message.html", {"message": reply})


@require_POST
@account_required
def message_feedback(request: HttpRequest, pk: int, message_id: int) -> HttpResponse:
    conversation, message = _own_message(request, pk, message_id)
    try:
        message_feedback_set(message=message, user=request.user, feedback=request.POST.get("feedback", ""))
    except ValidationError as error:
        return HttpResponse(" ".join(error.messages), status=400)
    if not request.headers.get("HX-Request"):
        return redirect("conversations:conversation", pk=conversation.pk)
    return render(request, "conversations/_feedback.html", {"message": message})


@require_POST
@account_required
def reply_regenerate_view(request: HttpRequest, pk: int, message_id: int) -> HttpResponse:
    conversation, reply = _own_message(request, pk, message_id)
    try:
        regenerated = reply_regenerate(reply=reply)
    except ReplyInFlight as error:
        return _composer_error(request, error, status=409)
    except ValidationError as error:
        return _composer_error(request, error, status=400)
    if not request.headers.get("HX-Request"):
        return redirect("conversations:conversation", pk=conversation.pk)
    # Takes the place of the variant it answers again; the socket streams into it.
    return render(request, "conversations/_message.html", {"message": regenerated}, status=201)


@require_POST
@account_required
def reply_select_view(request: HttpRequest, pk: int, message_id: int) -> HttpResponse:
    conversation, reply = _own_message(request, pk, message_id)
    variant = request.POST.get("variant", "")
    if not variant.isdigit():
        raise Http404("No such variant.")
    try:
        chosen = reply_select(reply=reply, variant=int(variant))
    except ReplyInFlight as error:
        return _composer_error(request, error, status=409)
    if not request.headers.get("HX-Request"):
        return redirect("conversations:conversation", pk=conversation.pk)
    return render(request, "conversations/_message.html", {"message": chosen})
