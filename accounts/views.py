from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts.decorators import account_required
from accounts.services import account_switch


@require_POST
@account_required
def switch_account(request: HttpRequest) -> HttpResponse:
    account = account_switch(user=request.user, session=request.session, slug=request.POST.get("account", ""))
    messages.info(request, f"You are now working in {account.name}.")
    # The page we came from belongs to the previous account and would 404 now.
    return redirect("conversations:chat")
