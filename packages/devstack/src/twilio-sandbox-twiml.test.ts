import twilio from "twilio";
import { describe, expect, it } from "vitest";
import { parseTwiml, parseXml, TwimlError } from "./twilio-sandbox-twiml.ts";

const DOCUMENT = "https://callflow.example/webhooks/twilio/voice/incoming";

const codeOf = (source: string) => {
  try {
    parseTwiml(source, DOCUMENT);
  } catch (error) {
    if (error instanceof TwimlError) return [error.code, error.message] as const;
    throw error;
  }
  return null;
};

describe("parseXml", () => {
  it("reads elements, attributes in either quote, text, entities, CDATA, comments and the declaration", () => {
    const root = parseXml(
      `\ufeff<?xml version="1.0" encoding="UTF-8"?>\n<!-- a comment --><Response a='1' b="x &amp; y &#65;&#x42;">` +
        `<Say>caf&#233; &lt;3</Say><![CDATA[<raw>]]><Hangup/></Response>\n`,
    );
    expect(root.name).toBe("Response");
    expect([...root.attributes]).toEqual([
      ["a", "1"],
      ["b", "x & y AB"],
    ]);
    expect(root.children.map((child) => [child.name, child.text])).toEqual([
      ["Say", "café <3"],
      ["Hangup", ""],
    ]);
    expect(root.text).toBe("<raw>");
  });

  it.each([
    ["", /no root element/],
    ["<Response>", /<Response> is not closed/],
    ["<Response></Say>", /does not close <Response>/],
    ["<Response/><Response/>", /more than one root/],
    ["text<Response/>", /text outside the root/],
    ['<Response a="1" a="2"/>', /repeated/],
    ["<Response a=1/>", /not quoted/],
    ['<Response a="x<y"/>', /contains '<'/],
    ['<Response a="1"b="2"/>', /expected a space/],
    ["<Response>&nbsp;</Response>", /unknown entity &nbsp;/],
    ["<Response>AT&T</Response>", /starts no entity/],
    ["<Response><!-- never closed</Response>", /comment is not closed/],
    ["<1Response/>", /expected a name/],
    [`${"<a>".repeat(17)}${"</a>".repeat(17)}`, /nested deeper than 16/],
    [`<Response>${"<Hangup/>".repeat(1000)}</Response>`, /more than 1000 elements/],
    ["x".repeat(64 * 1024 + 1), /longer than 65536 characters/],
  ])("refuses %j with a parse failure (12100)", (source, message) => {
    const failure = codeOf(source);
    expect(failure?.[0]).toBe(12100);
    expect(failure?.[1]).toMatch(message);
  });

  it("only ever throws TwimlError, whatever the bytes (seeded random documents)", () => {
    const pieces = [
      "<",
      ">",
      "/",
      "Response",
      "Say",
      "Dial",
      '"',
      "'",
      "=",
      " ",
      "&",
      ";",
      "#",
      "x",
      "!",
      "?",
      "-",
      "[",
      "]",
      "CDATA",
      "amp",
      "\n",
    ];
    let seed = 20261201;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let round = 0; round < 3000; round++) {
      const length = next() % 40;
      const source = Array.from({ length }, () => pieces[next() % pieces.length]).join("");
      try {
        parseTwiml(source, DOCUMENT);
      } catch (error) {
        expect(error, source).toBeInstanceOf(TwimlError);
      }
    }
  });
});

describe("parseTwiml", () => {
  it("reads what the twilio SDK writes for CallFlow's flow, with Twilio's defaults", () => {
    const forward = new twilio.twiml.VoiceResponse();
    forward
      .dial({ action: `${DOCUMENT}/../dial?x=1&y=2`, method: "POST", timeout: 12, answerOnBridge: true })
      .number("+15125550199");
    expect(parseTwiml(forward.toString(), DOCUMENT)).toEqual([
      { verb: "Dial", number: "+15125550199", timeoutSeconds: 12, action: `${DOCUMENT}/../dial?x=1&y=2` },
    ]);

    const greeting = new twilio.twiml.VoiceResponse();
    greeting.say({ language: "es-ES" }, "Deje su mensaje & gracias");
    greeting.record({
      action: "recording",
      recordingStatusCallback: "/webhooks/twilio/voice/recording",
      recordingStatusCallbackEvent: ["completed", "absent"],
      maxLength: 120,
    });
    greeting.hangup();
    expect(parseTwiml(greeting.toString(), DOCUMENT)).toEqual([
      { verb: "Say", text: "Deje su mensaje & gracias", language: "es-ES" },
      {
        verb: "Record",
        action: "https://callflow.example/webhooks/twilio/voice/recording",
        timeoutSeconds: 5,
        maxLengthSeconds: 120,
        recordingStatusCallback: "https://callflow.example/webhooks/twilio/voice/recording",
        recordingStatusCallbackEvents: ["completed", "absent"],
      },
      { verb: "Hangup" },
    ]);
    // Record's action defaults to the document's own URL; an empty Response ends the call.
    expect(parseTwiml("<Response><Record/></Response>", DOCUMENT)[0]).toMatchObject({
      action: DOCUMENT,
      timeoutSeconds: 5,
    });
    expect(parseTwiml("<Response/>", DOCUMENT)).toEqual([]);
  });

  it.each([
    ["<Response><Play>x.mp3</Play></Response>", /<Play> is not a verb the sandbox runs/],
    ["<Response><Redirect>/x</Redirect></Response>", /<Redirect> is not a verb/],
    ["<Response><Say/></Response>", /<Say> has no text/],
    ['<Response><Say loop="2">hi</Say></Response>', /attribute the sandbox does not run: loop/],
    ["<Response><Dial>+15125550199</Dial></Response>", /exactly one <Number>/],
    ["<Response><Dial><Sip>sip:x@y</Sip></Dial></Response>", /holds <Sip>/],
    ["<Response><Dial><Number>5550199</Number></Dial></Response>", /is not E\.164/],
    ['<Response><Dial timeout="0"><Number>+15125550199</Number></Dial></Response>', /from 1 to 600/],
    ['<Response><Dial action="javascript:alert(1)"><Number>+15125550199</Number></Dial></Response>', /is not a URL/],
    ["<Response><Hangup>now</Hangup></Response>", /takes no content/],
    ["<Response>hello</Response>", /text outside any verb/],
  ])("refuses %j as TwiML it does not run (12200)", (source, message) => {
    const failure = codeOf(source);
    expect(failure?.[0]).toBe(12200);
    expect(failure?.[1]).toMatch(message);
  });
});
