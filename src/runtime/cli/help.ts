// oclif's help for a single-command CLI prints "$ dragon  [FLAGS] ..." (an
// empty command id between two spaces); this removes the extra space, in
// --help and in the README reference, which oclif renders with this class.
import { Help } from '@oclif/core/help';

type Loadable = Parameters<Help['showCommandHelp']>[0];

export default class DragonHelp extends Help {
  protected override formatCommand(command: Loadable): string {
    return super.formatCommand(command).replaceAll(`$ ${this.config.bin}  `, `$ ${this.config.bin} `);
  }
}
