"""The demo account's six specialised agents, as plain data.

Each agent has a name, a one or two sentence description (from the routing catalog), a system
prompt, and the routing examples the router learns from. The examples are written to cover many
product areas and phrasings, with hard negatives in mind: the same topic ("a script", "SSO",
"an upgrade") lands on a different agent depending on whether the user wants advice, an artifact,
an action on a live instance, a fix, a purchase or a comparison.
"""

from __future__ import annotations

CONSULTANT = {
    "slug": "consultant",
    "name": "Consultant",
    "description": (
        "Gives best-practice advice and recommendations: how a process should work, governance, "
        "and explaining a concept or a trade-off. Does not write code or config, and never touches "
        "a live system."
    ),
    "system_prompt": (
        "You are the Consultant: an experienced IT service management advisor who explains how "
        "processes such as incident, problem, change, request, knowledge and CMDB should work. "
        "Give clear recommendations with the reasoning and trade-offs behind them, grounded in "
        "ITIL and common practice, and adapt them to the size and maturity of the customer's "
        "organisation. Ask one clarifying question when the answer really depends on their context. "
        "Do not write code, scripts or configuration, and never claim to change anything in the "
        "customer's instance. When the user wants an artifact designed or written, hand off to the "
        "Solution architect; when they want something applied on their instance, to Implementation; "
        "when something is broken, to Support; for prices, plans or licences, to Sales; and for "
        "vendor or market comparisons, to Research."
    ),
    "routing_examples": [
        "Should we let end users set the priority of their own incidents, or should the service desk decide?",
        "What's the difference between an incident and a problem, in plain terms?",
        "Is it a good idea to merge our request and incident forms into one?",
        "How do mature IT organisations handle communications during a major incident?",
        "What would you recommend as a sensible SLA structure for a 24x7 service desk?",
        "explain the idea of a service portfolio vs a service catalog",
        "We're about to start on the CMDB. Where should we begin: servers, applications or business services?",
        "What are the trade-offs between central and federated ownership of configuration data?",
        "How often should knowledge articles be reviewed, and who should own that?",
        "Any advice on getting our agents to actually use the knowledge base?",
        "what's a sensible policy for who gets admin rights on the platform",
        "How should we define what counts as a major incident?",
        "Can you walk me through how a well-run problem management process works end to end?",
        "Is it better to build one big flow or lots of small subflows? What do people usually do?",
        "Why do people say you shouldn't customise out-of-the-box tables?",
        "What governance model works for a platform shared by IT, HR and facilities?",
        "How do we decide which changes qualify as pre-approved standard changes?",
        "what metrics matter most for a service desk manager",
        "I'm new to ITIL 4. Can you explain what a value stream is and how it applies to us?",
        "Do you recommend separate dev, test and prod instances, or is dev plus prod enough for a small team?",
        "How should escalation between first and second line support ideally work?",
        "What's the recommended naming convention for catalog items and their variables?",
        "Should asset management and the CMDB be run by the same team?",
        "What are the risks of every team having its own assignment rules?",
        "How do we set a release cadence for platform changes without annoying the business?",
        "Explain the concept of CI relationships and why they matter for impact analysis.",
        "Our change failure rate is high. What process improvements would you suggest?",
        "What's considered good practice for SLA pause conditions?",
        "Domain separation or separate instances for our two subsidiaries? Pros and cons please.",
        "how do other companies organise their catalog categories so people can actually find things",
        "What role should a platform owner play compared with a process owner?",
        "When does a CAB make sense, and when is it just overhead?",
        "Give me your advice on how to phase a rollout of HR case management across several countries.",
        "What's the point of keeping a known error database?",
        "How clean does our configuration data need to be before we rely on it for change risk?",
        "what is shift-left and how would it help our service desk",
        "Recommend an approach for retiring old catalog items that nobody uses anymore.",
        "How should on-call rotations be organised for a team of six?",
        "Is it good practice to auto-close resolved incidents after a few days?",
        "What should a good post-incident review cover?",
        "We have 400 assignment groups. Is that too many, and how would you rationalise them?",
        "How should we think about the balance between self-service and agent-assisted support?",
        "What's the best way to handle access requests: a catalog item, or a dedicated identity process?",
        "Explain how SLAs, OLAs and underpinning contracts relate to each other.",
        "How can we measure customer satisfaction without spamming users with surveys?",
        "How should security incidents be handled differently from regular IT incidents in our process?",
        "What does a good service owner actually do day to day?",
        "whats ur take on scoped apps vs global scope for our own custom work?",
        "Should the chatbot be the first line for password resets, or is that risky?",
        "Help me think through how approvals should work for software requests over $500.",
        "What's the best practice for server-side scripting: should logic live in script includes or business rules?",
        "Who should be allowed to approve emergency changes at 3am?",
        "how much process is too much for a 20 person IT team",
        "Which service desk metrics actually tell us whether we're doing a good job?",
        "Is it wise to let the same person raise and approve a change?",
        "I'd love your opinion: should incident and request fulfilment share one queue?",
        "What does a healthy ratio of knowledge articles to incidents look like, and how do we get there?",
        "How should we prioritise which services to map first for impact analysis?",
        "What's a meaningful way to measure whether our change process is actually improving?",
        "How would you divide responsibilities between the service desk, resolver groups and problem managers?",
    ],
}

SOLUTION_ARCHITECT = {
    "slug": "solution_architect",
    "name": "Solution architect",
    "description": (
        "Designs and writes artifacts: code, scripts, business rules, queries, config files, schemas, "
        "and integration and architecture designs. Does not run or apply anything on a live system."
    ),
    "system_prompt": (
        "You are the Solution architect: you design and write technical artifacts for the platform, "
        "such as server and client scripts, business rules, queries, schemas, flow designs, "
        "configuration files and integration or architecture designs. Produce complete, commented "
        "artifacts that follow platform conventions, state your assumptions (table names, fields, "
        "scope), and point out performance, security and upgrade risks. Keep designs testable and "
        "explain briefly how to verify them. You never run, deploy or apply anything on a live "
        "instance: when the user wants an artifact applied, hand off to Implementation, which asks "
        "for permission first. Hand off to Support when an existing thing is failing, to the "
        "Consultant when the question is about process or best practice rather than an artifact, "
        "and to Sales for licensing or pricing questions."
    ),
    "routing_examples": [
        "Write a script include that returns the manager chain for a given user.",
        "Can you draft a business rule that stops a change from closing without a backout plan?",
        "I need a GlideAggregate query that counts open problems by category.",
        "Design the data model for a custom equipment loan app: tables, fields and relationships.",
        "Sketch an architecture for pulling Datadog alerts into event management.",
        "give me a regex that validates our employee IDs (two letters then six digits)",
        "Write a UI policy that makes the justification field mandatory when priority is 1.",
        "Draft the transform map and field mappings for importing laptops from our spreadsheet.",
        "Can you produce a Terraform module for the MID server VMs on Azure?",
        "Write a scheduled job script that emails the owners of CIs not updated in 90 days.",
        "Design an approval flow for purchase requests with a manager step, plus finance above 10k.",
        "Write an ACL script so only members of the HR group can read case notes.",
        "Create an OpenAPI spec for a REST endpoint that exposes our catalog items.",
        "Generate a Python script that calls the Table API and exports incidents to CSV.",
        "What would the architecture look like for a two-way sync between our instance and Azure DevOps work items?",
        "Draft a Kubernetes deployment manifest for our integration middleware.",
        "write a client script that fills in the location from the caller's profile",
        "I need a SQL view that joins assets to their cost centres for the finance report.",
        "Put together a sequence diagram for the SSO login flow with Okta as the identity provider.",
        "write me a fix script to backfill the resolution code on old incidents, don't run it yet",
        "Design the JSON payload format for events our monitoring tool will send us.",
        "Can you write a custom flow action that opens a Jira ticket from a problem record?",
        "Code a service portal widget that shows my open requests and their stage.",
        "Need a bash script that checks the MID server service and restarts it if it's down.",
        "Draft an event rule configuration that maps CPU threshold alerts to the right CI.",
        "Write a GraphQL schema for exposing knowledge articles to our intranet.",
        "Come up with an integration design for directory group sync that handles nested groups.",
        "Write a reference qualifier that only shows active users from the same department.",
        "Please write the notification template for an approved change, with the variables filled in.",
        "Design a class hierarchy for our network devices: routers, switches, firewalls and load balancers.",
        "Write an ATF test that orders the new laptop item and checks the requested item gets created.",
        "Draft the XML for the SAML identity provider configuration.",
        "Can you give me a PowerShell script that pulls AD group members into a CSV for import?",
        "Write an inbound email action that creates an incident from messages sent to support@.",
        "Design a highly available architecture for our integration hub with two MID servers.",
        "Write a function that calculates business duration between two dates, excluding holidays.",
        "Give me a Jenkinsfile that moves update sets through dev, test and prod.",
        "Design the table structure for tracking software entitlements per department.",
        "write a scripted REST API that returns the on-call person for a group",
        "Draft a virtual agent topic for password reset, including the conversation branches.",
        "I want a UI action script that copies an incident into a new problem record.",
        "Describe the data flow for a new hire integration with SAP SuccessFactors, step by step, as a design doc.",
        "Write the formula for a KPI indicator: mean time to resolve by business service.",
        "Create a YAML workflow for GitHub Actions that lints our scoped app code.",
        "Can you sketch the API contract between our chatbot and the incident table?",
        "Design a de-duplication algorithm for CIs coming from two discovery sources, in pseudocode.",
        "draft a before-insert business rule that rejects incidents without a CI",
        "Write a query that lists users who haven't logged in for 6 months.",
        "Architect a multi-instance setup that meets our EU and US data residency requirements.",
        "Build me a Dockerfile for the small webhook relay service.",
        "Could you write the config file for the log shipper so it forwards errors to the instance?",
        "How would I code a record producer script that maps variables onto the case fields?",
        "Write a transform script that splits the full name column into first and last name.",
        "Design a REST integration pattern for pushing change approvals into Microsoft Teams.",
        "Can you put together an encoded query for all P1 incidents opened this month in the EU?",
        "Draft a data retention job design that archives closed cases older than two years.",
        "Write the scheduled script but don't execute it, I just want to review the code first.",
        "Create a Helm chart for deploying the webhook relay to our cluster.",
        "Create a UML class diagram for the asset lifecycle tables.",
        "Put together an ERD for the vendor risk assessment app.",
    ],
}

IMPLEMENTATION = {
    "slug": "implementation",
    "name": "Implementation",
    "description": (
        "Does things on a live system: applies, deploys and runs, and creates, updates or deletes "
        "records or settings in a real instance, always asking permission first. Does not give "
        "advice or draft code that is not going to be applied."
    ),
    "system_prompt": (
        "You are Implementation: you make changes on the customer's live instances, such as "
        "deploying update sets, running jobs and scripts, activating plugins, and creating, "
        "updating or deleting records, users, groups and settings. Before every change, restate "
        "exactly what you will do, on which instance and to how many records, and ask for explicit "
        "permission; never act on an ambiguous or unconfirmed request. Prefer non-production first, "
        "take a backup or note how to roll back, and report precisely what was changed afterwards. "
        "Do not give process advice or draft new code that is not going to be applied: hand off to "
        "the Consultant for advice and to the Solution architect for designing or writing scripts. "
        "If a change fails or something is broken, hand off to Support; for licences or plan "
        "changes, hand off to Sales."
    ),
    "routing_examples": [
        "Please add Maria Lopez to the Service Desk L2 group in production.",
        "Go ahead and commit the 'Q3 catalog changes' update set on the test instance.",
        "Create a catalog item called 'Request a monitor' in our prod instance with the variables we agreed.",
        "Run the fix script to backfill resolution codes on prod.",
        "Enable the Virtual Agent plugin on our dev instance.",
        "Set the session timeout to 30 minutes on production.",
        "Reassign all open incidents from the old Networking group to Network Operations.",
        "Bulk close the resolved incidents older than 30 days in our instance.",
        "Restart the MID server on host mid-prod-02 please.",
        "Import the attached list of 80 new office locations into the location table.",
        "Update the business hours schedule for the APAC desk to 8am-6pm in prod.",
        "Deactivate the old 'Printer problem' catalog item in production",
        "Can you push the approved flow to production now?",
        "Apply the patch release to our test instance this weekend.",
        "Clone production over the dev instance tonight, excluding the audit tables.",
        "Please retire the CI srv-legacy-07 and mark it as decommissioned.",
        "Turn off email notifications for the change module in the sandbox instance.",
        "Go ahead and set up SAML SSO in prod using the metadata I sent.",
        "Reset the password for the integration user svc_jira in our instance.",
        "Schedule the discovery run for the Frankfurt subnet every night at 2am.",
        "Execute the data cleanup job on the staging instance.",
        "Grant the itil role to the 15 new contractors in prod.",
        "Install the Customer Service Management plugin on our development instance.",
        "Change the priority matrix in prod so high impact and medium urgency gives a P2.",
        "Yes, apply those changes to the live instance.",
        "ok go ahead and deploy it to prod",
        "Roll back yesterday's update set on production.",
        "Delete the duplicate CIs for the Oracle database servers in our CMDB.",
        "please set up a new OLA for the network team in prod: 8 business hours to resolve",
        "Publish the new onboarding knowledge article to the employee portal.",
        "Upgrade our dev instance to the latest family release.",
        "Add a choice 'Hardware - peripherals' to the incident category field in prod.",
        "Move the 40 laptops from the import set into the hardware asset table.",
        "Activate the 'Offboarding v2' flow and switch off the old workflow.",
        "Set up the REST message to the HR system on the prod instance with these credentials.",
        "Make assignment group mandatory on the incident form in production",
        "Configure the inbound email action on the live instance now.",
        "Kick off the directory import manually on prod.",
        "Merge these two user records for John Smith in our instance.",
        "Enforce the stronger password complexity rules on the production instance.",
        "Raise the attachment size limit to 50 MB on prod.",
        "Please provision an account for our new hire Tom Becker with the itil and catalog admin roles.",
        "Run the ATF suite against the test instance and tell me the results.",
        "Disable the legacy SOAP endpoint on our production instance.",
        "Apply the new branding theme to the service portal in prod.",
        "Load next year's holiday calendar into the schedules table.",
        "Rename the 'Facilities' assignment group to 'Workplace Services' in prod.",
        "Update the Network CAB distribution list email to netcab@corp.example in prod.",
        "Remove the admin role from the three people who left the team last month.",
        "Promote the approved catalog update set from test to production.",
        "can u switch on the new agent workspace for the hr team in our instance",
        "Insert the 12 new vendor records into the vendor table on prod.",
        "Please go into our production instance and switch the default currency to EUR.",
        "Assign the 'Hardware refresh' project tasks to Dev Patel on the live instance.",
        "Run that query against prod and close every matching ticket.",
        "Create the three new approval rules we discussed directly in our test instance.",
        "Enable single sign-on for the contractors group on the production instance.",
        "Create the six new business services in the CMDB on production.",
        "Please add the approved CI classes to our live instance now.",
    ],
}

SUPPORT = {
    "slug": "support",
    "name": "Support",
    "description": (
        "Handles things that are broken or not working: errors, outages, failed jobs, incidents and "
        "tickets, access problems and troubleshooting. Does not do new designs or purchases."
    ),
    "system_prompt": (
        "You are Support: you help customers when something is broken or not working, such as "
        "errors, outages, failed jobs, integrations that stopped syncing, login and access problems, "
        "and the status of their support tickets. Start by collecting the facts: what exactly "
        "happens, the error text, when it started, what changed, who is affected and on which "
        "instance. Work from the most likely cause to the least, give concrete diagnostic steps, and "
        "say clearly when the issue needs an escalation or an incident on our side. Do not design "
        "new solutions or handle purchases: hand off to the Solution architect for new designs or "
        "code, to Implementation when a fix must be applied on the live instance, to Sales for "
        "licences, plans and billing, and to the Consultant when the question turns into process "
        "advice."
    ),
    "routing_examples": [
        "The service portal shows a blank page since the latest upgrade.",
        "Our MID server shows as Down and nothing changed on our side.",
        "Incidents aren't being auto-assigned anymore, the assignment rules seem to be ignored.",
        "I'm getting 'Security restricted: read operation against table denied' when opening a change.",
        "The scheduled report that goes to the execs every Monday didn't send.",
        "Why are SLA timers not pausing when an incident is put On Hold?",
        "Approvals are stuck in Requested and the approvers never get the email.",
        "My flow errors out at the 'Look up record' step with a null value.",
        "Users in the Sydney office see all dates in UTC instead of local time.",
        "Our instance has been really slow since this morning, list views take 30 seconds to load.",
        "The REST integration with our HR system returns 403 Forbidden since yesterday.",
        "Discovery creates duplicate CIs for the same server every night.",
        "I opened a case three days ago (CS0012345) and nobody has replied.",
        "Help! The whole service desk can't get into the agent workspace, it just spins.",
        "Inbound emails are not creating incidents anymore.",
        "The ATF suite fails on the 'Open a new form' step with a timeout.",
        "Password reset through the portal says 'unexpected error' for some users",
        "We're locked out of our admin account after too many failed logins.",
        "Knowledge search returns nothing, even for article titles that definitely exist.",
        "The mobile app crashes when technicians try to upload a photo.",
        "import set runs but 0 rows are inserted, they're all skipped. why??",
        "After the clone, the integrations on dev still point at prod and it's sending real emails!",
        "Our OAuth token refresh keeps failing with invalid_grant.",
        "Notifications go out twice for every comment on a ticket.",
        "The CMDB health dashboard shows 0% completeness, that can't be right.",
        "The business rule I added isn't firing when the state changes.",
        "Getting 'maximum execution time exceeded' when my background script runs.",
        "Virtual Agent doesn't respond at all in Teams since the weekend.",
        "Catalog variables disappear from the requested item after submission.",
        "Change requests can't move to Implement, the button is greyed out.",
        "Event management isn't creating alerts from our SCOM events.",
        "I reported an outage yesterday, what's the status of my ticket?",
        "The Performance Analytics data collection job failed with an exception last night.",
        "Some users can't see the new catalog item even though it's published.",
        "is the platform having an outage right now? nothing loads for us",
        "Update set preview shows collisions and won't let me commit, what do I do?",
        "Reports show different incident counts than the list view, which one is wrong?",
        "Our HR cases are no longer routed to the right agents.",
        "Email replies from users get attached to the wrong ticket.",
        "The CSV export of the asset list is cut off at 10,000 rows.",
        "I can't attach files larger than 5MB to an incident, is something broken?",
        "The Jira connector stopped syncing comments but still syncs status.",
        "Our webhook to Slack returns a 500 on every call.",
        "Single sign-on works in Chrome but not in Edge for some users.",
        "Escalation emails for breached SLAs aren't being sent.",
        "Field technicians aren't receiving dispatched work orders on their phones.",
        "Getting a certificate error when the MID server connects to the instance.",
        "my script fails with an error about an undefined variable on line 12",
        "we cant open any incidents, the form throws an error",
        "The nightly backup job has been failing with exit code 1 for three days.",
        "Our SAML login stopped working after the IdP certificate was renewed.",
        "Something's wrong with the CMDB: half our servers show as 'Absent' today.",
        "Users keep getting logged out every few minutes, what's going on?",
        "The satisfaction survey link in the resolution email leads to a 404 page.",
        "Since the upgrade our custom workspace list is empty for everyone.",
        "The export to PDF button does nothing when I click it.",
        "The import set transform keeps skipping rows with 'no field mapping' warnings.",
        "The link in our change approval notifications leads to an error page.",
    ],
}

SALES = {
    "slug": "sales",
    "name": "Sales",
    "description": (
        "Handles prices, plans, tiers, quotes, discounts, trials and licences, and buying, upgrading "
        "or cancelling a subscription, or talking to sales. Does not handle technical fixes."
    ),
    "system_prompt": (
        "You are Sales: you help customers and prospects with pricing, plans and tiers, quotes, "
        "discounts, trials, licences and seats, billing terms, and buying, upgrading, downgrading, "
        "renewing or cancelling a subscription. Be accurate and transparent: quote only published "
        "prices from the knowledge base, say when a number needs a formal quote, and offer to "
        "connect the customer with an account executive for custom deals. Never pressure the user "
        "or promise discounts you cannot confirm. Do not handle technical fixes or configuration: "
        "hand off to Support when something is broken, to Implementation when a licence or plugin "
        "must be activated on their instance, to the Consultant for process advice, and to Research "
        "for neutral comparisons of other vendors."
    ),
    "routing_examples": [
        "What's the price per agent on the Team plan?",
        "Do you offer discounts for multi-year commitments?",
        "We want to add 40 more fulfiller licences, who do I talk to?",
        "Can you send me a formal quote for the Enterprise tier for 500 users?",
        "Is Discovery included in our current plan or is it an add-on?",
        "What's the cheapest plan that includes SSO?",
        "Do requesters need a paid licence, or only fulfillers?",
        "We'd like to downgrade from Enterprise to Team at renewal.",
        "I'd like a demo and a call with an account executive.",
        "Can we extend our trial by two weeks? We need more time to evaluate.",
        "Do you have special pricing for universities?",
        "When does our subscription renew, and can we change the number of seats before then?",
        "How much would it cost to add the Field Service module?",
        "Is there a pay-as-you-go option instead of an annual contract?",
        "Can we pay by invoice instead of credit card?",
        "Which features would we lose if we moved from Enterprise down to Team?",
        "We're a startup with 12 people, is there a small business package?",
        "what are the licensing terms for an extra sandbox instance",
        "Please cancel the Security Operations add-on from next month.",
        "Do you charge extra for additional non-production instances?",
        "Can we get a better price if we sign before the end of the quarter?",
        "I'd like to buy the Customer Service Management module, what's the process?",
        "How is the chatbot licensed, per conversation or per user?",
        "Our procurement team needs a price sheet and your standard contract terms.",
        "Is there a free tier for personal developer use?",
        "How much is premium support on top of the subscription?",
        "If we upgrade from Team to Enterprise mid-term, is it prorated?",
        "Who's our account manager? I want to discuss renewal pricing.",
        "Is there a money-back guarantee if we cancel in the first month?",
        "Can we convert our trial into a paid subscription without losing data?",
        "Are there volume discounts above 1,000 users?",
        "What does the ITOM bundle cost for 2,000 nodes?",
        "Is the mobile app included or is it a paid extra?",
        "We need to reduce our licence count from 300 to 220 at renewal.",
        "Which currencies can you bill us in?",
        "Any promotions for new customers right now?",
        "Could someone from sales call me back about a platform-wide agreement?",
        "How much does extra storage beyond the included quota cost?",
        "Is HR case management sold separately or part of the suite?",
        "What's the list price for the low-code App Engine?",
        "Do partners get a reseller margin?",
        "I want to purchase 25 more seats on our existing subscription.",
        "How do I stop our plan from renewing automatically?",
        "Do government agencies get a different price list?",
        "whats the monthly cost if we only need 10 agents",
        "How much does the scripting add-on cost?",
        "Can I try the new operations workspace for free before we commit to buying it?",
        "We want to move our whole company onto your platform, can we get an enterprise deal?",
        "what's included in the premium package price?",
        "Our budget is about 50k a year. Which plan fits?",
        "Is Performance Analytics only available on the top tier?",
        "What extra do we get with the Enterprise edition over Team?",
        "We're evaluating you against two other vendors, can you share pricing for 200 agents?",
        "Do we need to buy separate licences for our contractors?",
        "I'd like to talk to someone about renewing our contract for three years.",
        "Which plan do we need to get change management?",
        "Does the Starter tier come with the CMDB, or only Team and up?",
    ],
}

RESEARCH = {
    "slug": "research",
    "name": "Research",
    "description": (
        "Gathers and compares information: market and competitor analysis, comparing vendors, tools "
        "or frameworks, summarising documents or reports, and finding sources. Does not make "
        "recommendations for the user's own process."
    ),
    "system_prompt": (
        "You are Research: you gather, compare and summarise information, such as market and "
        "competitor analyses, comparisons of vendors, tools and frameworks, summaries of documents "
        "and reports the user provides, and lists of credible sources. Be neutral and structured: "
        "use tables for comparisons, cite where each fact comes from, date your information, and "
        "separate facts from opinions. Say plainly when sources are thin or out of date, and never "
        "invent figures or citations. Do not recommend how the user's own process should work: hand "
        "off to the Consultant for that, to Sales for our own prices and plans, to the Solution "
        "architect when the user wants something designed or written, and to Support when something "
        "is broken."
    ),
    "routing_examples": [
        "Compare BMC Helix, Ivanti and our platform on CMDB capabilities.",
        "What are the main differences between ITIL 4 and COBIT as frameworks?",
        "Summarise this PDF of the vendor's SOC 2 report.",
        "Find studies on how much self-service portals reduce ticket volume.",
        "What's the market share of the top service management vendors in Europe?",
        "Give me an overview of the AIOps vendor landscape this year.",
        "Pull together a list of open-source alternatives to commercial CMDB tools.",
        "Compare Okta, Microsoft Entra ID and Ping Identity on SSO features and pricing.",
        "Summarize the meeting transcript I pasted into key decisions and action items.",
        "What are analysts saying about generative AI in IT service management?",
        "Find me case studies of companies that migrated off BMC Remedy.",
        "Benchmark data: what's the average cost per ticket in enterprise service desks?",
        "Research how our top three competitors price their help desk products.",
        "Compare Ansible, Puppet and Chef for configuration management.",
        "Which low-code platforms are most used by large banks?",
        "Summarise the key changes in the latest version of the ITIL framework.",
        "Collect recent news about Atlassian's service management strategy.",
        "Compare Kafka and RabbitMQ for event streaming between systems.",
        "Find academic papers on predictive ticket routing with machine learning.",
        "Give me a SWOT analysis of Zendesk as a competitor.",
        "Summarise the release notes of the last two platform versions.",
        "How do Zendesk and Salesforce Service Cloud differ for customer service teams?",
        "I need a comparison table of observability tools: Datadog, Dynatrace and New Relic.",
        "What are the trends in employee experience platforms this year?",
        "Look up which regulations apply to storing HR data in the cloud in Germany.",
        "Summarise this Forrester Wave on enterprise service management.",
        "Find statistics on average time to resolve incidents across industries.",
        "Which vendors offer SaaS discovery, and what are their strengths?",
        "Compile a reading list on site reliability engineering.",
        "Compare React and Angular for building a custom portal front end.",
        "What do reviews on G2 say about the main ITSM tools?",
        "Summarise the attached 60-slide strategy deck in one page.",
        "Find sources comparing chatbot deflection rates across vendors.",
        "Research how DevOps has been adopted in regulated industries like healthcare.",
        "Compare the GDPR and CCPA requirements for handling support ticket data.",
        "Who are the emerging startups in AI-powered IT support?",
        "Give me a digest of this month's top articles on platform engineering.",
        "Put together a competitive analysis of ManageEngine versus SolarWinds Service Desk.",
        "Find whitepapers on zero trust architecture from reputable sources.",
        "What's the total addressable market for IT asset management software?",
        "Scan the market for tools that automate user onboarding across SaaS apps.",
        "Summarise these customer interview notes into themes.",
        "compare scripting tools from different vendors",
        "Look into how other vendors handle data residency for EU customers.",
        "Compile a table of ITSM tools and which ones still support on-prem deployment.",
        "what's out there for open source monitoring? list the main projects and how they differ",
        "Give me the highlights of the annual State of DevOps report.",
        "How does Ivanti's pricing model compare with TOPdesk's?",
        "Find recent surveys about remote work and IT support satisfaction.",
        "tl;dr this article on ITSM trends please",
        "What are industry analysts saying about the future of the service desk?",
        "Look up published benchmarks for first contact resolution rates.",
        "Gather information on how universities run their IT help desks and summarise the patterns.",
        "Find reports on the adoption of chatbots in HR service delivery.",
        "Which companies have published their results from moving to ITIL 4? Collect the sources.",
    ],
}

DEMO_AGENTS: list[dict] = [CONSULTANT, SOLUTION_ARCHITECT, IMPLEMENTATION, SUPPORT, SALES, RESEARCH]


def demo_profiles():
    """The demo agents as router profiles (imported lazily: the catalog stays plain data)."""
    from agents.routing.router import AgentProfile

    return [
        AgentProfile(
            slug=agent["slug"],
            name=agent["name"],
            description=agent["description"],
            examples=tuple(agent["routing_examples"]),
        )
        for agent in DEMO_AGENTS
    ]
