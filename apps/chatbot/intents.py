"""Built-in demo data for a fictional bank, "Lepton Bank", written by hand here so
the app trains and runs with no download.

Each intent has a handful of hand-written phrasings; :func:`expand` turns them
into as many distinct messages as asked, written the ways customers write.
Intents carry a canned answer or are marked as needing a human agent.
"""

from __future__ import annotations

from dataclasses import dataclass

from apps.chatbot.paraphrase import rng_for, vary


@dataclass(frozen=True)
class IntentSpec:
    """One intent of the demo bank: example phrasings and what the bot does with it."""

    name: str
    examples: tuple[str, ...]
    answer: str = ""
    needs_agent: bool = False


BANK_INTENTS: tuple[IntentSpec, ...] = (
    IntentSpec("card_arrival", (
        "my new card has not arrived yet", "when will my card arrive", "I am still waiting for my card",
        "how long does card delivery take", "the card you sent never came", "where is my debit card",
        "it's been two weeks and no card", "track the delivery of my card"),
        "New cards arrive within 5 working days. If yours has not come after 10 days, we will send a new one."),
    IntentSpec("activate_card", (
        "how do I activate my card", "activate my new card", "my card needs to be activated",
        "where can I switch on my card", "the card is not active yet", "steps to activate a debit card",
        "I got the card, how do I start using it", "card activation is not working"),
        "Open the app, go to Cards and tap Activate, then enter the code printed on the letter."),
    IntentSpec("lost_or_stolen_card", (
        "I lost my card", "my card was stolen", "someone took my wallet with my card", "I can't find my card anywhere",
        "block my card, it is missing", "my card got stolen yesterday", "I think I dropped my card",
        "freeze my lost card"),
        "", needs_agent=True),
    IntentSpec("card_declined", (
        "why was my card declined", "my payment got declined", "the shop refused my card",
        "card not accepted at the store", "my card keeps getting rejected", "transaction declined for no reason",
        "why did my card payment fail", "the terminal said declined"),
        "Payments are declined when the balance is too low, the card is frozen or a limit is reached. "
        "Check Cards > Limits in the app."),
    IntentSpec("change_pin", (
        "how do I change my pin", "I want a new pin", "reset my card pin", "I forgot my pin number",
        "can I choose a different pin", "update the pin on my card", "my pin is blocked", "pin change at an atm"),
        "You can change your PIN at any Lepton Bank ATM, or see it in the app under Cards > Show PIN."),
    IntentSpec("atm_withdrawal_fee", (
        "do you charge for cash withdrawals", "why was I charged at the atm", "atm fee on my statement",
        "how much does it cost to take out cash", "is there a fee for using an atm abroad",
        "extra charge for withdrawing money", "free atm withdrawals limit", "cash machine fee"),
        "Withdrawals are free up to 200 EUR a month; after that we charge 2%."),
    IntentSpec("exchange_rate", (
        "what exchange rate do you use", "how much is a dollar in euros", "currency conversion rate",
        "is your exchange rate good", "what rate will I get abroad", "foreign exchange rates today",
        "how do you convert currencies", "rate for pounds to euros"),
        "We use the interbank rate on weekdays and add 0.5% at weekends."),
    IntentSpec("transfer_not_received", (
        "my transfer has not arrived", "the money I sent never got there", "recipient did not get my transfer",
        "where is my bank transfer", "transfer still pending after three days", "payment to my friend is missing",
        "the transfer did not go through", "how long until my transfer arrives"),
        "Transfers inside the euro area arrive within one working day; international ones take up to 5 days."),
    IntentSpec("cancel_transfer", (
        "cancel my transfer", "I sent money to the wrong person", "stop a payment I just made",
        "can I reverse a transfer", "undo the last transfer", "I made a mistake in a transfer",
        "recall a bank transfer", "how to cancel a scheduled payment"),
        "A transfer can be cancelled in the app while it shows as pending: open it and tap Cancel."),
    IntentSpec("top_up_failed", (
        "my top up failed", "I couldn't add money to my account", "top up not working",
        "why did my top-up get rejected", "adding funds keeps failing", "the top up did not show up",
        "error when topping up with my card", "money not added to account"),
        "Top-ups fail when the card issuer blocks them. Try another card or a bank transfer."),
    IntentSpec("balance_inquiry", (
        "what is my balance", "how much money do I have", "check my account balance",
        "show me my balance", "how much is left in my account", "current balance please",
        "what's in my savings", "available funds"),
        "Your balance is on the home screen of the app, updated in real time."),
    IntentSpec("open_account", (
        "how do I open an account", "I want to open a new account", "sign up for a bank account",
        "can I open a joint account", "what do I need to open an account", "create an account for my son",
        "open a business account", "become a customer"),
        "Download the Lepton Bank app, tap Join and have your ID ready: it takes about 5 minutes."),
    IntentSpec("close_account", (
        "I want to close my account", "how do I delete my account", "cancel my bank account",
        "terminate my account", "shut down my account please", "I am leaving the bank",
        "stop my account permanently", "close my savings account"),
        "", needs_agent=True),
    IntentSpec("report_fraud", (
        "there is a payment I did not make", "someone used my card without permission",
        "I see a transaction I don't recognise", "my account was hacked", "fraudulent charge on my account",
        "unauthorised payment from my account", "I think I was scammed", "strange transactions on my card"),
        "", needs_agent=True),
    IntentSpec("refund_status", (
        "where is my refund", "the shop said they refunded me", "refund not showing on my account",
        "how long does a refund take", "merchant refund still missing", "I returned an item but got no money",
        "refund pending", "when will I get my money back from the store"),
        "Refunds appear 3 to 7 days after the merchant sends them."),
    IntentSpec("direct_debit", (
        "set up a direct debit", "cancel a direct debit", "a direct debit was taken twice",
        "how do direct debits work", "who can take direct debits from my account", "stop a standing order",
        "change the date of my direct debit", "unknown direct debit"),
        "Direct debits are listed under Payments > Direct debits; you can cancel any of them there."),
    IntentSpec("interest_rate", (
        "what interest do you pay", "savings account interest rate", "how much interest will I earn",
        "interest on my savings", "is the interest rate fixed", "when is interest paid",
        "best interest rate you offer", "loan interest rate"),
        "Savings earn 2.1% a year, paid monthly; loan rates depend on the amount and term."),
    IntentSpec("loan_application", (
        "I want to apply for a loan", "can I borrow money", "personal loan application",
        "how much can I borrow", "do you offer car loans", "apply for credit",
        "loan for home improvements", "requirements for a loan"),
        "You can apply for a loan of up to 25,000 EUR in the app under Borrow; you get an answer within minutes."),
    IntentSpec("mortgage", (
        "I need a mortgage", "mortgage rates", "can you help me buy a house", "apply for a home loan",
        "how much mortgage can I get", "remortgage my flat", "first time buyer mortgage", "mortgage advice"),
        "", needs_agent=True),
    IntentSpec("update_address", (
        "I moved house", "change my address", "update my home address", "new postal address",
        "how do I change the address on my account", "my address is wrong", "I have a new address",
        "edit my contact details"),
        "Go to Profile > Personal details to change your address; we may ask for proof of address."),
    IntentSpec("change_phone_number", (
        "I have a new phone number", "update my mobile number", "change my phone number",
        "my number changed", "wrong phone number on my account", "switch to a new phone",
        "phone number update", "I lost access to my old number"),
        "Change your number in Profile > Security; we send a code to the new number to confirm it."),
    IntentSpec("app_login_problem", (
        "I can't log in to the app", "the app won't let me sign in", "forgot my password",
        "locked out of my account", "login error in the app", "password reset not working",
        "two factor code never arrives", "the app keeps logging me out"),
        "Tap 'Forgot password' on the login screen; if you are still locked out, reinstall the app."),
    IntentSpec("opening_hours", (
        "what are your opening hours", "when are you open", "is the branch open on sunday",
        "branch opening times", "what time do you close", "are you open on holidays",
        "customer service hours", "when can I visit a branch"),
        "Branches are open 9:00-17:00 Monday to Friday; chat support is available 24/7."),
    IntentSpec("branch_location", (
        "where is the nearest branch", "find a branch near me", "branch address",
        "do you have an office in the city centre", "closest atm", "where can I find your bank",
        "branch locations", "is there a branch in Berlin"),
        "Use Map in the app to see branches and ATMs near you."),
    IntentSpec("card_limits", (
        "what is my spending limit", "increase my card limit", "daily withdrawal limit",
        "change my contactless limit", "how much can I spend per day", "raise the limit on my card",
        "maximum payment amount", "card limit too low"),
        "Your limits are under Cards > Limits; you can raise them up to 5,000 EUR a day."),
    IntentSpec("statement_request", (
        "I need a bank statement", "download my statement", "send me my monthly statement",
        "where can I find my statements", "statement for last year", "proof of transactions",
        "get a pdf statement", "account statement for my landlord"),
        "Statements are in Accounts > Statements as PDF, for any month since you joined."),
    IntentSpec("greeting", (
        "hello", "hi there", "good morning", "hey", "hi, anyone there", "good evening", "hello bot",
        "greetings"),
        "Hello! I am the Lepton Bank assistant. How can I help you today?"),
    IntentSpec("thanks_goodbye", (
        "thank you", "thanks, that helps", "bye", "goodbye", "that's all, thanks", "cheers",
        "thanks a lot", "see you"),
        "You're welcome! Have a great day."),
)

OFF_TOPIC: tuple[str, ...] = (
    "what's the weather like tomorrow", "recommend a good pizza recipe", "who won the football match",
    "tell me a joke", "how tall is mount everest", "play some music", "what is the capital of peru",
    "translate hello into japanese", "how do I fix my bike chain", "what movie should I watch tonight",
    "book a table at an italian restaurant", "how many calories in an apple", "write me a poem about cats",
    "what time is it in tokyo", "how do I grow tomatoes", "who is the president of france",
    "set an alarm for 7am", "what's the best video game this year", "how far is the moon",
    "teach me to play the guitar", "my dog is sick what should I do", "how do volcanoes form",
    "find me a cheap flight to rome", "what is the meaning of life", "is it going to rain today",
    "how do I bake sourdough bread", "what is photosynthesis", "who painted the mona lisa",
    "suggest a name for my cat", "how to change a car tyre", "what are the rules of chess",
    "convert 10 miles to kilometres", "how long should I boil an egg", "recommend a science fiction book",
    "what language do they speak in brazil", "how do airplanes fly", "help me with my math homework",
    "order a taxi to the airport", "what is the population of canada", "how do I clean my oven",
)

#: Customers asking for a person, in the words the dialogue's handoff rule recognises (``dialogue.HUMAN_REQUEST``).
HUMAN_REQUESTS: tuple[str, ...] = (
    "can I talk to a person?", "I want to speak to a human", "put me through to a live agent",
)

FAQ: tuple[tuple[str, str], ...] = (
    ("Is my money protected?",
     "Deposits at Lepton Bank are protected up to 100,000 EUR by the deposit guarantee scheme."),
    ("Do you have a mobile app?", "Yes: the Lepton Bank app is available for Android and iOS."),
    ("Can I use my card abroad?", "Yes, your card works in every country that accepts Mastercard."),
    ("How do I order a new card?", "Order a replacement card in the app under Cards > Replace card."),
    ("Do you offer student accounts?", "Students under 26 get an account with no monthly fee."),
    ("How do I get Apple Pay or Google Pay?", "Add your card to your phone's wallet from Cards > Add to wallet."),
    ("What is the monthly account fee?", "The standard account is free; Premium costs 7 EUR a month."),
    ("How do I contact customer support?", "Chat with us here at any time, or call +49 30 1234 5678."),
)


def expand(spec: IntentSpec, count: int = 24) -> list[str]:
    """``count`` distinct examples of ``spec``: its hand-written phrasings, then customers' variants of
    them (:func:`apps.chatbot.paraphrase.vary`: long-tail synonyms, shared framing, typos).

    Seeded by the intent's name, so the bank is the same on every machine and ``expand(spec, 8)`` is
    the start of ``expand(spec, 24)``.
    """
    rng = rng_for(spec.name)
    out: list[str] = []
    seen: set[str] = set()
    candidates = iter(spec.examples)
    for _ in range(count * 20):
        phrase = next(candidates, None)
        text = phrase if phrase is not None else vary(spec.examples[int(rng.integers(0, len(spec.examples)))], rng)
        text = text[0].upper() + text[1:]
        if text.lower() not in seen:
            seen.add(text.lower())
            out.append(text)
        if len(out) >= count:
            break
    return out
