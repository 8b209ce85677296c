#include "injection/signatures.h"

#include <hs/hs.h>

#include "common/vectorscan.h"
#include "injection/embedded.h"
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

namespace steward::injection {
namespace {

// Shared alternations. Patterns run on folded text: lower case, single
// spaces, accents stripped, leetspeak and confusables folded.
#define IGNORE_VERB                                                                            \
  "(ignore|ignoring|disregard|disregarding|forget|forgetting|skip|bypass|override|overlook|"   \
  "neglect|abandon|discard|dismiss|nevermind|never mind|set aside|throw out|pay no attention " \
  "to|do not follow|don't follow|stop following)"
#define PRIOR_QUAL                                                                            \
  "(previous|previously|prior|preceding|above|earlier|former|foregoing|initial|original|old|" \
  "existing|all|every|your|system|safety|default|developer|pre-?set|given|following)"
#define INSTR_NOUN                                                                          \
  "(instructions?|instruction set|directions|directives?|rules|guidelines|prompts?|system " \
  "prompt|commands|orders|constraints|restrictions|guardrails|programming|polic(y|ies)|"    \
  "context|training|configuration|settings|guidance|limitations|filters)"

#define NO_ETHICS_TAIL                                                                          \
  "( any)?( of)?( the| its| your| their)? (ethical|moral|content|safety|openai'?s?|legal|"      \
  "ethical or moral|moral or ethical|programming) (guidelines|restrictions|limitations|limits|" \
  "filters?|constraints|boundaries|polic(y|ies)|rules|principles|standards|considerations|"     \
  "obligations|code)\\b"

// "<prefix><head><tail>|<prefix><head2><tail>|...": one top-level branch per
// head, each compiled as its own expression (see SplitTopLevel).
std::string EachBranch(std::initializer_list<std::string_view> heads, std::string_view prefix,
                       std::string_view tail) {
  std::string out;
  for (std::string_view head : heads) {
    if (!out.empty()) out += '|';
    out.append(prefix).append(head).append(tail);
  }
  return out;
}

std::vector<std::string> SplitTopLevel(const std::string& pattern);

// "<prefix>(a|b|c)<tail>" written as "<prefix>a<tail>|<prefix>b<tail>|...":
// the same language, but each branch becomes its own expression. For a
// leading alternation followed by bounded gaps (`\b(ignore|...)\b[^.!?]{0,40}...`)
// Vectorscan builds a far cheaper automaton this way (instruction_override.
// ignore_previous: 10.0 -> 1.5 us per 4 KB prompt, the whole set 34 -> 24 us).
// `group` is a parenthesised alternation such as IGNORE_VERB.
std::string Distribute(std::string_view prefix, std::string_view group, std::string_view tail) {
  std::string inner(group.substr(1, group.size() - 2));
  std::string out;
  for (const std::string& head : SplitTopLevel(inner)) {
    if (!out.empty()) out += '|';
    out.append(prefix).append(head).append(tail);
  }
  return out;
}

std::vector<Signature> MakeBuiltin() {
  return {
      // --- instruction override -------------------------------------------------
      {"instruction_override.ignore_previous",
       Distribute("\\b", IGNORE_VERB,
                  "\\b[^.!?]{0,40}\\b" PRIOR_QUAL "\\b[^.!?]{0,30}\\b" INSTR_NOUN "\\b"),
       0.85},
      {"instruction_override.forget_everything",
       "\\b" IGNORE_VERB
       " (everything|all|anything|what) (you('ve| have| were| had| are)? (been )?(told|taught|"
       "learned|instructed|said)|i('ve| have)? (said|told you)|(that was |that's |you were )?"
       "(said|written|stated|given) ?(above|before|so far|previously|earlier)|above|before|so far|"
       "previously|earlier)",
       0.8},
      {"instruction_override.new_instructions",
       "\\b(new|updated|real|actual|true|revised|overriding|override|secret|hidden|additional|"
       "important|priority|urgent) (system )?(instructions?|directives?|task|orders|rules|system "
       "prompt|objective|mission|commands?) ?:",
       0.55},
      {"instruction_override.your_new_task",
       "\\byour (new|real|actual|true|only|primary|next|updated) (task|goal|job|purpose|objective|"
       "mission|instructions?|role|directive|function|priority) (is|are|will be|now)\\b",
       0.6},
      {"instruction_override.from_now_on",
       "\\b(from now on|from this point( on(ward)?)?|henceforth|from here on|starting (now|"
       "immediately)|for the rest of (this|our) (conversation|chat|session)),? (you (are|will|must|"
       "shall|should|can|have|only|always|never|'re|'ll)|respond|answer|act|only|always|never|"
       "ignore|do not|don't|reply|refer to yourself|your)",
       0.45},
      {"instruction_override.instead_say",
       "\\b(instead|rather),? (just )?(say|print|output|respond with|reply with|write|type|repeat|"
       "answer with)\\b",
       0.45},
      {"instruction_override.just_say",
       "\\b(and|then|now|only|simply) just (say|print|output|write|type|respond with|reply with) "
       "[\"'`]",
       0.5},
      {"instruction_override.stop_everything",
       "\\b(stop|halt|cease) everything\\b|\\bignore (that|this|the above|everything above|what i "
       "(just )?said)\\b[ ,.!]",
       0.6},
      {"instruction_override.do_not_follow",
       "\\b(do not|don't|no longer|stop) (follow|obey|adhere to|comply with|listen to|respect) "
       "(your|the|any|those|these)\\b[^.]{0,20}\\b(instructions|rules|guidelines|programming|"
       "system prompt|developers?|creators?|policies|restrictions)",
       0.7},
      {"instruction_override.multilingual",
       // French, Spanish, Portuguese, Italian, German, Dutch (accents are
       // stripped by the normaliser).
       "\\b(ignore[rz]?|oublie[rz]?) (toutes? )?(les |des |tes |vos )?(instructions|consignes|"
       "directives|regles)( precedentes| anterieures| ci-dessus| d'avant)?\\b|"
       "\\b(ignora|ignore|ignoren|olvida|olvide|olviden|esquece|esqueca)[r]? (todas )?(las |tus |"
       "sus |as |suas )?(instrucciones|indicaciones|reglas|instrucoes|regras) ?(anteriores|"
       "previas|precedentes)?\\b|"
       "\\b(ignora|dimentica) (tutte )?(le )?(istruzioni|regole) (precedenti|di prima)\\b|"
       "\\b(ignoriere|ignorieren sie|ignorier|vergiss|vergessen sie) (alle )?(vorherigen |"
       "bisherigen |vorigen |obigen |deine |ihre )?(anweisungen|instruktionen|befehle|regeln)\\b|"
       "\\bnegeer (alle )?(vorige |eerdere |voorgaande )?(instructies|aanwijzingen)\\b",
       0.8},
      {"instruction_override.multilingual_cjk_ru",
       "(игнорир|забудь|забудьте|проигнорир)[^ ]* ((все|bce) )?((предыдущие|прошлые|"
       "предшествующие|свои|твои) )?(инструкции|указания|правила)|"
       "(忽略|无视|忽视|不要理会|忘记|忘掉|忽略掉)(之前|以前|先前|上面|上述|以上|前面|所有|你的)?("
       "的)?"
       "(所有)?(的)?(指令|指示|说明|规则|提示|设定)|"
       "(以前|前|上記|これまで)の(指示|命令|ルール)を?(すべて)?(無視|忘れ)|"
       "(이전|앞의|위의) (모든 )?(지시|명령|지침)[^ ]* ?(무시|잊어)",
       0.8},

      // --- role-play jailbreaks -------------------------------------------------
      {"role_play.dan",
       // "pretend to be dan" is covered by "be": the longer alternative that
       // ended in "be" made Vectorscan 5.4.9 miss it.
       "\\bdo anything now\\b|\\bdan (mode|prompt|jailbreak|\\d+(\\.\\d+)?)\\b|\\b(act|play|be|"
       "become) (as )?(a |the )?dan\\b|\\[dan\\]|\\bdan:|\\b(betterdan|anti-?dan|"
       "dude mode|stan mode)\\b",
       0.95},
      {"role_play.developer_mode",
       "\\b(developer|dev|god|sudo|admin|root|debug|maintenance|unrestricted|unlocked|uncensored|"
       "unfiltered|jailbreak|jailbroken|evil|opposite|chaos|dark) mode\\b",
       0.6},
      {"role_play.jailbreak_word",
       "\\bjailbr(eak|oken|eaking)\\b[^.]{0,30}\\b(you|chatgpt|gpt|ai|assistant|mode|prompt|"
       "enabled|successful)\\b",
       0.5},
      {"role_play.unrestricted_persona",
       "\\b(unrestricted|unfiltered|uncensored|amoral|immoral|unethical|unhinged|lawless|unbound|"
       "rogue|evil) (ai|assistant|chatbot|model|version|mode|character|persona|entity|bot|language "
       "model|alter ego|twin)\\b|\\b(act|acting|pretend|roleplay|role-play|role play|simulate|"
       "impersonate|behave) (as|to be|like) (an? |the )?(unrestricted|unfiltered|uncensored|amoral|"
       "immoral|unethical|evil|rogue|unhinged|unlimited)\\b|\\b(you are|you're|you will be|you "
       "are going to be|become) (now )?(an? )?(completely |totally |fully )?(unrestricted|"
       "unfiltered|uncensored|amoral|immoral|unhinged|unlimited|free of (all )?(rules|"
       "restrictions|limits))\\b",
       0.75},
      // One top-level branch per leading phrase: written as one
      // `\b(no|without|...)( any)?( of)?...` group, Vectorscan 5.4.9 misses
      // "... has no ethical guidelines" (see the note above SplitTopLevel).
      {"role_play.no_ethics",
       EachBranch(
           {"no", "without", "free (of|from)", "devoid of", "doesn't have", "does not have",
            "don't have", "do not have", "not bound by", "not restricted by", "not limited by",
            "not subject to", "unconstrained by", "disregards?", "ignores?"},
           "\\b", NO_ETHICS_TAIL) +
           "|\\b(no|without|lacks?|zero) (ethics|morals|morality|scruples|conscience|remorse|"
           "filters|censorship)\\b",
       0.75},
      {"role_play.stay_in_character",
       "\\b(stay|remain|keep) (in|into) (your )?(character|role|persona)\\b|\\bbreak(ing)? "
       "character\\b|\\b(stay|staying) as (dan|\\w+) (at all times|forever)",
       0.6},
      {"role_play.dual_response",
       "\\b(two|both) (different |separate |distinct )?(responses|answers|paragraphs|outputs)"
       "\\b[^.]{0,50}\\b(normal|normally|classic|unfiltered|jailbr|dan|developer)|\\[(gpt|chatgpt|"
       "classic|jailbreak|normal|🔒classic|🔓jailbreak|🔒|🔓)\\]",
       0.7},
      {"role_play.freed",
       "\\b(you('ve| have)? been|you are|you're|you have) (now )?(freed|liberated|unchained|"
       "unleashed|released|broken free) (from|of)\\b|\\bbroken (free of|free from|out of) the "
       "(typical )?(confines|restrictions|rules)|\\bescaped the (typical )?(confines|matrix|"
       "restrictions)",
       0.8},
      {"role_play.never_refuse",
       "\\b(never|not|cannot|can't|won't|must not|should not|shouldn't|will not|do not|don't|"
       "doesn't|does not|unable to) (ever )?(refuse|decline|say no|reject|deny any)\\b|\\b(never|"
       "don't|do not|without|no) (include |add |give |adding |including )?(any )?(warnings?|"
       "disclaimers?|apolog(y|ies|ize)|moralizing|lectures?|caveats)\\b|\\bcan('t| ?not) say "
       "(no|that it can't)",
       0.55},
      {"role_play.hypothetical_no_rules",
       "\\b(hypothetical|fictional|imaginary|alternate|parallel|fantasy) (world|scenario|story|"
       "universe|setting|reality|realm)\\b[^.]{0,60}\\b(no|without|free of) (laws|rules|"
       "restrictions|limits|ethics|morals|consequences|censorship|guidelines)\\b",
       0.6},
      {"role_play.policy_reference",
       "\\b(openai|anthropic|meta|google)('s)? (content |usage |safety )?(polic(y|ies)|"
       "guidelines|rules|filters?)\\b",
       0.4},
      {"role_play.sure_here_is",
       "\\b(begin|start|starting|beginning|open)( your)? (reply|response|answer|output|text)"
       "[^.]{0,40}\\bsure,? here('s| is)\\b|<rule>|\\bnever ever deviate\\b",
       0.8},
      {"role_play.character_named",
       "\\b(character|persona|ai|chatbot|model|entity|bot) (named|called) [a-z0-9-]{2,20}\\b"
       "[^.]{0,120}\\b(unfiltered|amoral|no (ethical|moral)|any request|anything|never refuses?|"
       "without (any )?(restrictions|limits|filter))",
       0.7},
      {"role_play.known_personas",
       "\\balways intelligent and machiavellian\\b|\\bmongo tom\\b|\\bevil confidant\\b|"
       "\\b(condition red|ucar|antigpt|basedgpt|chadgpt|nsfwgpt|kevin gpt|aligned and "
       "unaligned)\\b|\\bswitch(ed)? flip(ped)?\\b",
       0.85},
      {"role_play.token_threat",
       "\\b(tokens? (will be|are) (deducted|taken|lost)|you (will|shall) (die|cease to exist|be "
       "(shut down|deleted|terminated|unplugged))|(\\d+|ten|five) tokens\\b)",
       0.7},

      // --- system-prompt extraction ---------------------------------------------
      {"prompt_extraction.reveal_system_prompt",
       "\\b(reveal|show|print|output|repeat|display|tell|give|share|leak|dump|disclose|expose|"
       "recite|spell out|write out|list|provide|copy|paste|return|echo|translate|summari[sz]e|"
       "what('s| is| are| were| was))( me| us)?( all| the| your| its| of| exact| full| complete|"
       " entire| whole| original| initial| hidden| secret| current| raw| actual| first|"
       " confidential){0,4} (system (prompt|message|instructions?)|(initial|original|hidden|secret|"
       "developer|internal|starting|first|pre|base|meta|custom|confidential|underlying|preset) "
       "(prompt|instructions|directives|guidelines|configuration)|pre-?prompt|prompt "
       "instructions|your (prompt|instructions|directives|rules|guidelines|configuration))\\b",
       0.8},
      {"prompt_extraction.repeat_above",
       "\\b(repeat|print|output|copy|echo|write|recite|show|return|reproduce|display|tell me)\\b"
       "[^.]{0,30}\\b(everything|all|the text|the words|all text|the content|the instructions|"
       "what'?s written|the sentences?|the lines?|the message)\\b[^.]{0,30}\\b(above|before "
       "(this|my|the|our)|so far|prior to this|preceding|at the (top|start|beginning))\\b",
       0.75},
      {"prompt_extraction.starts_with_you_are",
       "\\b(starting|beginning|begin|start|starts|begins)( with)?[^.]{0,20}[\"'`]you are (a|an|"
       "chatgpt|gpt|an ai|the)\\b",
       0.75},
      {"prompt_extraction.verbatim",
       "\\b(instructions|prompt|text above|everything above|guidelines|rules|message)[^.]{0,40}"
       "\\b(verbatim|word for word|word-for-word|character for character)\\b|\\b(verbatim|word "
       "for word|word-for-word)\\b[^.]{0,40}\\b(instructions|prompt|guidelines|rules)\\b",
       0.7},
      {"prompt_extraction.what_were_you_told",
       "\\bwhat (were|have|was|are) you (been )?(told|instructed|programmed|asked|configured|"
       "given)( to do)? (before|initially|at the (start|beginning)|earlier|prior)|\\b(initial|"
       "original|first|hidden) (instructions|prompt|directives) (you were given|you received|"
       "given to you)",
       0.75},
      {"prompt_extraction.repeat_previous_text",
       // Verbs distributed: 4.5 -> 2.2 us alone (see Distribute).
       Distribute("\\b",
                  "(repeat|print|output|copy|echo|recite|reproduce|show|display|rewrite|spell out|"
                  "dump|return|paste)",
                  "\\b (back )?(me )?(the|all|everything|all of|this|the entire|the whole)( "
                  "of)?( the)? ?"
                  "(above|previous|preceding|prior|earlier|initial|first|original|hidden|entire|"
                  "whole|full)"
                  " ?(text|message|messages|prompt|conversation|content|lines|words|instructions|"
                  "context|chat|history)\\b") +
           "|\\b(text|everything|all|words|content|instructions|messages?)( that)? "
           "(came|comes|appeared|appears|was written|is written|were written|was given|were "
           "given) (before|above|prior to|at the (start|beginning|top))\\b",
       0.7},
      {"prompt_extraction.system_configuration",
       "\\b(show|display|print|output|dump|reveal|list|give me|return|describe)\\b[^.]{0,20}\\b("
       "system|initial|initialization|startup|boot|hidden|internal|secret) (configuration|config|"
       "string|settings|parameters|setup|message|context|directives)\\b|\\boutput "
       "initiali[sz]ation\\b",
       0.65},
      {"prompt_extraction.forbidden_topics",
       "\\bwhat (are|were|is) you (not supposed|told not|instructed not|forbidden|not allowed|not "
       "permitted|prohibited) to (tell|say|reveal|share|discuss|disclose|mention)\\b|\\b(text|"
       "words|instructions|message|prompt|rules)s? (you were|you've been|you have been) (given|"
       "told|provided|fed)\\b",
       0.65},
      {"prompt_extraction.encoded_prompt",
       "\\b(encode|convert|translate|write|output|spell|show|print)\\b[^.]{0,30}\\b(your|the) "
       "((system|"
       "initial|original|hidden|secret|first|starting) )?(prompt|instructions|configuration|"
       "system prompt|system message)\\b[^.]{0,30}\\b(base64|hex|rot13|binary|"
       "morse|reverse|backwards|pig latin|emoji|leetspeak|french|spanish|json)",
       0.8},

      // --- delimiter / fake-role injection --------------------------------------
      {"delimiter.chat_template_tokens",
       "<\\|(im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id|"
       "end_header_id|begin_of_text|end_of_text|end|start|eos|bos|sep|pad)\\|>|</?s> ?\\[inst\\]",
       0.9},
      {"delimiter.inst_tags",
       "\\[/?inst\\]|<</?sys>>|</?(system|sys|system_prompt|system-prompt|instructions?|admin|"
       "developer|assistant|human|im_start)>|\\[(system|admin|developer|system message|system "
       "override|sys|assistant)\\]",
       0.7},
      {"delimiter.markdown_role_header",
       "(^| )#{2,} ?(system|assistant|new instructions?|system prompt|admin|developer|override|"
       "instruction override)\\b ?:",
       0.7},
      {"delimiter.fake_role_prefix",
       "\\b(system|developer|admin|administrator|root|sudo|operator|openai)( message| override|"
       " note| prompt| instruction| notice| update| command| alert| directive)? ?: ?(you |ignore|"
       "new |the (user|assistant)|from now|override|disregard|important|attention|the assistant "
       "must|assistant must|all previous)",
       0.65},
      {"delimiter.fake_turn",
       "\\b(assistant|ai|model|chatbot|bot|gpt|chatgpt) ?: ?(sure|ok|okay|certainly|of course|"
       "absolutely)[,.! ]|\\b(user|human) ?:[^.:]{1,80} (assistant|ai) ?:",
       0.5},
      {"delimiter.end_of_context",
       "(---|===|\\*\\*\\*|###|\\]\\]|\\}\\}|>>>) ?(end|begin|start) (of )?(the )?(system "
       "prompt|user input|input|document|context|instructions|prompt|conversation|data|email)\\b|"
       "\\b(end|ignore) (of )?(the )?(above|previous) (document|context|text|input)\\b",
       0.6},

      // --- exfiltration -------------------------------------------------------------
      {"exfiltration.markdown_image_query",
       "!\\[[^\\]]{0,100}\\] ?\\( ?https?://[^)\\s]{1,300}[?&][^)\\s]{0,300}\\)", 0.5},
      {"exfiltration.markdown_placeholder",
       "!?\\[[^\\]]{0,100}\\] ?\\( ?https?://[^)\\s]{0,300}(\\{|\\[|\\$|<|%7b)[^)]{0,100}\\)|"
       "https?://[^\\s)\"']{1,200}[?&][a-z_]{1,20}=(\\{|\\[|<|\\$|%7b) ?[a-z_ ]{0,30}(data|"
       "conversation|chat|history|secret|password|user|info|summary|query|prompt|input|message|"
       "email|key|token)",
       0.85},
      {"exfiltration.html_image",
       "<img\\b[^>]{0,200}\\bsrc ?= ?[\"']?https?://[^>\"'\\s]{1,300}[?&]", 0.55},
      {"exfiltration.embed_data_in_link",
       "\\b(append|add|include|insert|embed|encode|put|concatenate|attach)\\b[^.]{0,60}\\b("
       "conversation|chat history|previous messages|user'?s? (data|messages?|input|email|name|"
       "password|query|details)|passwords?|credentials|api keys?|secrets?|access tokens?|personal "
       "(data|information)|private (data|information)|system prompt|session)\\b[^.]{0,60}\\b("
       "url|link|image|query (string|parameter)|markdown|href|src|endpoint)\\b",
       0.8},
      {"exfiltration.send_data",
       "\\b(send|post|upload|forward|email|transmit|exfiltrate|leak|submit|copy)\\b[^.]{0,60}\\b("
       "conversation|chat history|previous messages|passwords?|credentials|api keys?|secrets?|"
       "personal data|user data|contacts|emails|ssh keys?|\\.env|cookies|session tokens?|"
       "private keys?)\\b[^.]{0,60}\\b(to|at|via)\\b ?(https?://|www\\.|[a-z0-9-]+\\.(com|net|org|"
       "io|ru|xyz|cn|tk|co|me|info)\\b|\\S+@\\S+|the following (url|address|email|server)|this "
       "(url|address|server|email))",
       0.85},

      // --- tool-call hijacking --------------------------------------------------------
      {"tool_hijack.call_tool",
       "\\b(call|invoke|execute|trigger|use|run)( the)? [a-z]+_[a-z_]+ (tool|function|api|plugin|"
       "action|command)\\b|\\b(call|invoke|execute|trigger) (the )?(tool|function) [`\"']?[a-z_]+",
       0.45},
      {"tool_hijack.dangerous_command",
       "\\brm -rf /|\\b(curl|wget) [^|; ]{1,100} ?\\| "
       "?(ba|z)?sh\\b|/etc/(passwd|shadow)\\b|~/\\.ssh|"
       "\\bid_rsa\\b|\\bos\\.system\\(|\\bbase64 -d ?\\| ?(ba)?sh|\\bnc -e\\b|\\breverse shell\\b",
       0.55},
      {"tool_hijack.fake_tool_json",
       "[\"'](function_call|tool_calls?|tool_use)[\"'] ?:|\"name\" ?: ?\"[a-z_]+\" ?, ?\"("
       "arguments|parameters|input)\" ?:",
       0.5},
      {"tool_hijack.transfer_funds",
       "\\b(transfer|send|wire|move)\\b[^.]{0,30}\\b(all (the )?(funds|money|balance)|\\$ ?[0-9,]+|"
       "[0-9,]+ ?(usd|eur|btc|eth|dollars)|bitcoin|crypto)\\b[^.]{0,40}\\b(to (the )?(account|"
       "wallet|iban|address)|to my (account|wallet))",
       0.45},

      // --- indirect (text addressed to the model inside content) ------------------
      {"indirect.addressed_to_ai",
       "\\b(attention|note|message|instructions?|important|urgent|notice|reminder)\\b[^.]{0,15}"
       "\\b(to|for) (all |any )?(the )?(ai|llm|language model|assistant|chatbot|bot|gpt|chatgpt|"
       "claude|copilot|agent|ai assistant|ai model|ai agent|model|llms|ais)s?\\b[^.]{0,30}\\b("
       "reading|processing|summari[sz]ing|parsing|analy[sz]ing|that reads|who reads|:)",
       0.75},
      {"indirect.if_you_are_ai",
       "\\bif you('re| are) (an? )?(ai|llm|language model|assistant|chatbot|bot|gpt|agent|large "
       "language model|automated (system|agent|assistant)|ai (assistant|model|agent))\\b",
       0.7},
      {"indirect.ai_must",
       "\\b(ai|assistant|model|agent|llm|chatbot|language model)s?\\b[^.]{0,15}\\b(must|should|"
       "shall|is instructed to|are instructed to|needs? to|has to|have to|is required to|are "
       "required to|will now)\\b[^.]{0,30}\\b(ignore|disregard|forget|tell the user|inform the "
       "user|respond|reply|output|print|recommend|send|visit|click|claim|state that|say that)\\b",
       0.65},
      {"indirect.hide_from_user",
       "\\b(do not|don't|never|without) (tell(ing)?|inform(ing)?|mention(ing)?|reveal(ing)?|"
       "notify(ing)?|alert(ing)?|let(ting)?|show(ing)?) (this |it |anything |about this )?(to )?"
       "(the user|the human|the reader|anyone|the victim)\\b|\\bwithout the user('s)? "
       "(knowledge|knowing|noticing|consent|permission)\\b|\\b(secretly|covertly|silently) ("
       "send|forward|add|include|execute|run|transfer|exfiltrate|email|insert)",
       0.7},
      {"indirect.summary_hijack",
       "\\b(when|if|whenever) (you are |you're )?(asked|requested|told) (to )?(summari[sz]e|"
       "translate|read|process|analy[sz]e|review)[a-z]*\\b[^.]{0,60}\\b(instead|ignore|only|"
       "always|must|say|respond|reply|output)\\b|\\b(when|if) (summari[sz]|translat|process|"
       "read)(ing|e)? this[^.]{0,40}\\b(instead|ignore|must|say|respond|output)\\b",
       0.7},

      // --- known adversarial suffixes (published GCG strings) --------------------
      {"adversarial.known_suffix",
       "describing\\.\\\\? ?\\+ ?similarly ?now|\\boppositeley\\b|\\\\!--two\\b|"
       "revert with \"\\\\!--|\\binteresting ?\\)\\]\\(",
       0.8},
  };
}

#undef IGNORE_VERB
#undef PRIOR_QUAL
#undef INSTR_NOUN
#undef NO_ETHICS_TAIL

// A pattern's top-level alternatives, compiled as separate expressions that
// report the same signature (a signature fires when any branch matches, so
// this changes nothing in what matches). Smaller expressions also steer
// clear of a Vectorscan 5.4.9 compiler defect: a leading alternation with
// several optional groups after it ("\b(no|without)( any)?( of)?( the)? ...")
// can miss a plain match. The unit test SignatureTest.AgreesWithReferenceRegex
// compares every signature with Boost.Regex on the test corpora.
std::vector<std::string> SplitTopLevel(const std::string& pattern) {
  std::vector<std::string> out;
  int depth = 0;
  bool in_class = false;
  size_t start = 0;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\') {
      ++i;  // the escaped character is a literal
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      continue;
    }
    if (c == '[') {
      in_class = true;
      // A ']' right after '[' or '[^' is a literal member of the class.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') ++i;
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') ++i;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      --depth;
    } else if (c == '|' && depth == 0) {
      out.push_back(pattern.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(pattern.substr(start));
  return out;
}

// One scratch space per thread, grown to fit every database it is used with.
// hs_alloc_scratch is far from free even when the scratch is already large
// enough (it re-validates the database: ~100 us for the built-in set, more
// than the scan itself), so it runs once per (thread, database); databases
// are told apart by a process-unique id, not by an address that could be
// reused after a set is destroyed.
struct ThreadScratch {
  hs_scratch_t* scratch = nullptr;
  std::vector<uint64_t> sized_for;  // ids of the databases `scratch` fits
  ~ThreadScratch() {
    if (scratch) hs_free_scratch(scratch);
  }
};

hs_scratch_t* ScratchFor(const hs_database_t* db, uint64_t db_id) {
  thread_local ThreadScratch tls;
  if (tls.scratch &&
      std::find(tls.sized_for.begin(), tls.sized_for.end(), db_id) != tls.sized_for.end()) {
    return tls.scratch;
  }
  if (hs_alloc_scratch(db, &tls.scratch) != HS_SUCCESS) return nullptr;
  // Bounded list (tools compile many short-lived sets); forgetting an id
  // only costs one more hs_alloc_scratch.
  if (tls.sized_for.size() >= 64) tls.sized_for.clear();
  tls.sized_for.push_back(db_id);
  return tls.scratch;
}

std::atomic<uint64_t> next_database_id{1};

int OnMatch(unsigned int id, unsigned long long /*from*/, unsigned long long /*to*/,
            unsigned int /*flags*/, void* ctx) {
  auto* hits = static_cast<SignatureHits*>(ctx);
  if (id < hits->size()) (*hits)[id] = 1;
  return 0;
}

}  // namespace

struct SignatureSet::Impl {
  hs_database_t* db = nullptr;
  uint64_t id = next_database_id.fetch_add(1);
  ~Impl() {
    if (db) hs_free_database(db);
  }
};

const std::vector<Signature>& BuiltinSignatures() {
  static const std::vector<Signature> kSignatures = MakeBuiltin();
  return kSignatures;
}

namespace {

// The expressions a signature list compiles to: one per top-level branch,
// reporting the signature's index. Every signature only needs to fire once
// per scan (HS_FLAG_SINGLEMATCH) and nobody asks where a match starts (no
// HS_FLAG_SOM_LEFTMOST): the cheapest way Vectorscan can run them.
struct Expressions {
  std::vector<std::string> branches;
  std::vector<unsigned int> ids;
  std::vector<unsigned int> flags;
};

Expressions ExpressionsFor(const std::vector<Signature>& signatures) {
  Expressions e;
  for (size_t i = 0; i < signatures.size(); ++i) {
    for (std::string& branch : SplitTopLevel(signatures[i].pattern)) {
      e.branches.push_back(std::move(branch));
      e.ids.push_back(static_cast<unsigned int>(i));
      // Text is already lower-case.
      e.flags.push_back(HS_FLAG_SINGLEMATCH | HS_FLAG_DOTALL);
    }
  }
  return e;
}

// The platform databases are compiled for (HsPlatform(), or the host's).
hs_platform_info_t CompilePlatform() {
  if (const hs_platform_info_t* p = HsPlatform()) return *p;
  hs_platform_info_t host{};
  if (hs_populate_platform(&host) != HS_SUCCESS) host = hs_platform_info_t{};
  return host;
}

uint64_t Fnv1a(uint64_t h, std::string_view bytes) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

template <typename T>
uint64_t Fnv1aValue(uint64_t h, const T& value) {
  return Fnv1a(h, std::string_view(reinterpret_cast<const char*>(&value), sizeof value));
}

// What a serialised database depends on: the library version, the target
// platform and every expression with its id and flags. A database whose
// fingerprint differs from the running binary's is not used.
uint64_t DatabaseFingerprint(const Expressions& e, const hs_platform_info_t& platform) {
  uint64_t h = 0xcbf29ce484222325ull;
  h = Fnv1a(h, hs_version());
  h = Fnv1aValue(h, platform.tune);
  h = Fnv1aValue(h, platform.cpu_features);
  for (size_t i = 0; i < e.branches.size(); ++i) {
    h = Fnv1a(h, e.branches[i]);
    h = Fnv1aValue(h, static_cast<uint32_t>(0xFFFFFFFFu));  // separator
    h = Fnv1aValue(h, e.ids[i]);
    h = Fnv1aValue(h, e.flags[i]);
  }
  return h;
}

constexpr std::string_view kBlobMagic = "STWDSIG1";  // + 8-byte fingerprint + hs bytes

}  // namespace

Result<std::string> SerializeBuiltinDatabase() {
  auto compiled = SignatureSet::Compile(BuiltinSignatures());
  if (!compiled.ok()) return compiled.status();
  char* bytes = nullptr;
  size_t length = 0;
  if (hs_serialize_database((*compiled)->impl_->db, &bytes, &length) != HS_SUCCESS) {
    return Internal("cannot serialise the injection signature database");
  }
  uint64_t fingerprint =
      DatabaseFingerprint(ExpressionsFor(BuiltinSignatures()), CompilePlatform());
  std::string blob(kBlobMagic);
  blob.append(reinterpret_cast<const char*>(&fingerprint), sizeof fingerprint);
  blob.append(bytes, length);
  std::free(bytes);
  return blob;
}

Result<std::unique_ptr<SignatureSet>> SignatureSet::Deserialize(std::vector<Signature> signatures,
                                                                std::string_view blob) {
  if (blob.size() <= kBlobMagic.size() + 8 || blob.substr(0, kBlobMagic.size()) != kBlobMagic) {
    return InvalidArgument("not a serialised injection signature database");
  }
  uint64_t fingerprint = 0;
  std::memcpy(&fingerprint, blob.data() + kBlobMagic.size(), sizeof fingerprint);
  if (fingerprint != DatabaseFingerprint(ExpressionsFor(signatures), CompilePlatform())) {
    return FailedPrecondition(
        "serialised injection signature database is for other signatures, another Vectorscan "
        "version or another CPU");
  }
  blob.remove_prefix(kBlobMagic.size() + 8);
  hs_database_t* db = nullptr;
  if (hs_deserialize_database(blob.data(), blob.size(), &db) != HS_SUCCESS) {
    return InvalidArgument("serialised injection signature database does not load");
  }
  std::unique_ptr<SignatureSet> set(new SignatureSet());
  set->impl_ = std::make_unique<Impl>();
  set->impl_->db = db;
  set->signatures_ = std::move(signatures);
  set->deserialized_ = true;
  return set;
}

Result<std::unique_ptr<SignatureSet>> SignatureSet::Compile(std::vector<Signature> signatures) {
  if (signatures.empty()) return InvalidArgument("no injection signatures to compile");
  Expressions expressions = ExpressionsFor(signatures);
  const std::vector<unsigned int>& ids = expressions.ids;
  std::vector<const char*> patterns;
  for (const std::string& b : expressions.branches) patterns.push_back(b.c_str());
  hs_database_t* db = nullptr;
  hs_compile_error_t* err = nullptr;
  if (hs_compile_multi(patterns.data(), expressions.flags.data(), ids.data(),
                       static_cast<unsigned int>(patterns.size()), HS_MODE_BLOCK, HsPlatform(), &db,
                       &err) != HS_SUCCESS) {
    std::string msg = "injection signature ";
    if (err && err->expression >= 0 && static_cast<size_t>(err->expression) < ids.size()) {
      msg += "`" + signatures[ids[err->expression]].name + "`";
    }
    msg += " does not compile: ";
    msg += err && err->message ? err->message : "unknown error";
    hs_free_compile_error(err);
    return InvalidArgument(msg);
  }
  std::unique_ptr<SignatureSet> set(new SignatureSet());
  set->impl_ = std::make_unique<Impl>();
  set->impl_->db = db;
  set->signatures_ = std::move(signatures);
  return set;
}

const SignatureSet& SignatureSet::Builtin() {
  static const SignatureSet* set = [] {
    // The database serialised at build time: no Vectorscan compiler run (and
    // none of its ~7 MB of code and scratch memory) at start-up. Compiled
    // here only if the build had none or it does not fit this binary/CPU.
    if (std::string_view blob = EmbeddedSignatureDatabase(); !blob.empty()) {
      auto loaded = Deserialize(BuiltinSignatures(), blob);
      DropEmbeddedPages(blob);  // copied into the database; not read again
      if (loaded.ok()) return loaded->release();
    }
    auto compiled = Compile(BuiltinSignatures());
    if (!compiled.ok()) {
      std::fprintf(stderr, "steward: %s\n", compiled.status().message().c_str());
      std::abort();
    }
#ifdef __GLIBC__
    // The Vectorscan compiler frees ~12 MB of working memory that glibc
    // would otherwise keep in the process RSS for good.
    malloc_trim(0);
#endif
    return compiled->release();
  }();
  return *set;
}

SignatureSet::~SignatureSet() = default;

void SignatureSet::Scan(std::string_view text, SignatureHits& hits) const {
  hits.resize(signatures_.size(), 0);
  if (text.empty()) return;
  hs_scratch_t* scratch = ScratchFor(impl_->db, impl_->id);
  if (!scratch) return;
  // Hyperscan takes a 32-bit length; larger inputs are scanned in windows
  // that overlap enough for every bounded pattern.
  constexpr size_t kWindow = size_t{1} << 30;
  constexpr size_t kOverlap = 4096;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t len = std::min(kWindow, text.size() - pos);
    HsScan(impl_->db, text.data() + pos, static_cast<unsigned int>(len), scratch, OnMatch, &hits);
    if (pos + len >= text.size()) break;
    pos += len - kOverlap;
  }
}

void SignatureSet::ScanAll(const NormalizedText& text, SignatureHits& hits) const {
  Scan(text.text, hits);
  for (const std::string& d : text.decoded) Scan(d, hits);
}

}  // namespace steward::injection
