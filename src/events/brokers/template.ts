/**
 * A broker source's `eventType`: literal text with one kind of placeholder, the message's subject
 * (NATS, `{subject}`) or routing key (RabbitMQ, `{routingKey}`). Compiled when the source starts;
 * any other placeholder is a config mistake, refused then.
 */

/**
 * @example
 * const typeOf = compileEventType('orders.{subject}', 'subject');
 * typeOf('created'); // 'orders.created'
 */
export function compileEventType(
  template: string,
  placeholder: 'subject' | 'routingKey',
): (value: string) => string {
  const token = `{${placeholder}}`;
  const pieces = template.split(token);
  if (template.length === 0 || pieces.some((p) => /[{}]/.test(p))) {
    throw new TypeError(`eventType ${JSON.stringify(template)} may use only ${token} as a placeholder`);
  }
  return (value) => pieces.join(value);
}
